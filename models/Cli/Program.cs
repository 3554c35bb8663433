// The engine's command-line program; CliApp holds the commands so tests can run them in-process.
return Engine.Cli.CliApp.Run(args);
