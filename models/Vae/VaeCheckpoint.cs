using System.Globalization;
using Engine.Models.Nn;

namespace Engine.Models.Vae;

/// <summary>
/// A VAE's weights in safetensors with its architecture in the file's metadata, so a checkpoint alone
/// rebuilds the model (PyTorch reads the same file with safetensors.torch.load_file).
/// </summary>
public static class VaeCheckpoint
{
    /// <summary>Saves the weights (atomically) with the architecture and any extra metadata.</summary>
    public static void Save(VariationalAutoencoder vae, string path, IReadOnlyDictionary<string, string>? extra = null)
    {
        var o = vae.Options;
        var meta = new Dictionary<string, string>
        {
            ["format"] = "engine-vae",
            ["input_size"] = o.InputSize.ToString(CultureInfo.InvariantCulture),
            ["hidden"] = string.Join(",", o.Hidden),
            ["latent_size"] = o.LatentSize.ToString(CultureInfo.InvariantCulture),
            ["activation"] = o.Activation.ToString().ToLowerInvariant(),
            ["decoder"] = o.Decoder.ToString().ToLowerInvariant(),
            ["min_decoder_log_variance"] = o.MinDecoderLogVariance.ToString("R", CultureInfo.InvariantCulture),
        };
        if (extra != null) foreach (var (k, v) in extra) meta[k] = v;
        vae.Save(path, meta);
    }

    /// <summary>Rebuilds the model a checkpoint describes and loads its weights.</summary>
    public static (VariationalAutoencoder Model, IReadOnlyDictionary<string, string> Metadata) Load(string path, Engine.Devices.Device? device = null)
    {
        var (_, meta) = IO.SafeTensors.Load(path);
        string Need(string key) => meta.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"'{path}' is not an engine VAE checkpoint: its metadata has no '{key}'.");
        if (Need("format") != "engine-vae") throw new InvalidDataException($"'{path}' holds a '{meta["format"]}', not an engine VAE.");
        var options = new VaeOptions
        {
            InputSize = int.Parse(Need("input_size"), CultureInfo.InvariantCulture),
            Hidden = Need("hidden").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
            LatentSize = int.Parse(Need("latent_size"), CultureInfo.InvariantCulture),
            Activation = Activations.Parse(Need("activation")),
            Decoder = Enum.Parse<DecoderKind>(Need("decoder"), ignoreCase: true),
            MinDecoderLogVariance = double.Parse(Need("min_decoder_log_variance"), CultureInfo.InvariantCulture),
            Device = device,
        };
        var vae = new VariationalAutoencoder(options, new Generator(0));
        vae.Load(path);
        return (vae, meta);
    }
}
