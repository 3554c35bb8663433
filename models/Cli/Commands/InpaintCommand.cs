using System.CommandLine;
using System.Text.Json.Nodes;
using Engine.Cli.Output;
using Engine.Models.Data;
using Engine.Models.Inference;
using Engine.Models.Vae;

namespace Engine.Cli.Commands;

/// <summary>
/// `vae inpaint`: hide part of each test image (the top half by default), infer z from the observed pixels alone
/// (the encoder fed the masked image, then per-data-point variational inference with the masked likelihood), fill the
/// missing pixels from p(x_mis | z), and compare with the lecture's factorized q over the missing pixels and with
/// the per-pixel mean of the training images. Writes inpaint.png and adds "inpaint" to metrics.json.
/// </summary>
internal static class InpaintCommand
{
    private const int Batch = 128;
    private static readonly string[] Regions = ["top", "bottom", "left", "right", "center", "random", "none"];

    internal static Command Create()
    {
        var data = Common.Data();
        var synthetic = Common.Synthetic();
        var outDir = Common.Out("runs/vae");
        var seed = Common.Seed();
        var region = new Option<string>("--region") { Description = "Missing pixels: top, bottom, left, right (a half of the image), center (a centered square of half the side), random (each pixel missing with probability --missing-fraction) or none (nothing missing: the amortization gap of complete images).", DefaultValueFactory = _ => "top" };
        var fraction = new Option<double>("--missing-fraction") { Description = "For --region random: the probability that a pixel is missing.", DefaultValueFactory = _ => 0.5 };
        var steps = new Option<int>("--steps") { Description = "Adam steps of per-data-point inference.", DefaultValueFactory = _ => 100 };
        var lr = new Option<double>("--lr") { Description = "Initial step size of per-data-point inference (cosine-decayed to a tenth).", DefaultValueFactory = _ => 0.1 };
        var k = new Option<int>("--k") { Description = "Importance samples per image for log p(x_obs).", DefaultValueFactory = _ => 5000 };
        var count = new Option<int>("--count", "-n") { Description = "Images shown in the PNG.", DefaultValueFactory = _ => 8 };
        var binarize = new Option<string?>("--binarize") { Description = "How test images become binary: static (x > 0.5), dynamic or none (default: static for a Bernoulli decoder, none for a Gaussian one)." };
        var factorized = new Option<bool>("--no-factorized") { Description = "Skip the factorized Bernoulli q over the missing pixels." };
        var file = new Option<string>("--file") { Description = "PNG file name inside --out.", DefaultValueFactory = _ => "inpaint.png" };
        var trainLimit = Common.Limit("--train-limit", "training (their per-pixel mean is the baseline)");
        var testLimit = new Option<int>("--test-limit") { Description = "Inpaint the first N test images.", DefaultValueFactory = _ => 256 };
        var cmd = new Command("inpaint",
            "Fill in missing pixels of test images from the observed ones: log p(x_obs) by importance sampling, the encoder's and the optimized ELBO, " +
            "and the accuracy of the filled pixels against the truth, beside the per-pixel mean and a factorized q over the missing pixels. " +
            "The PNG shows, per image: original, masked, filled by per-data-point inference, filled by the encoder alone, filled by the factorized q.")
        {
            data, synthetic, outDir, seed, region, fraction, steps, lr, k, count, binarize, factorized, file, trainLimit, testLimit,
        };
        cmd.SetAction(p => Run.Guarded(() =>
        {
            var progress = new Progress(p.GetValue(Common.Quiet));
            using var run = new RunDirectory(p.GetValue(outDir)!);
            var (model, meta) = VaeRun.LoadModel(run);
            string where = p.GetValue(region)!.ToLowerInvariant();
            if (!Regions.Contains(where)) throw new UserError($"--region: '{where}' is not one of {string.Join(", ", Regions)}.");
            double missing = p.GetValue(fraction);
            if (!(missing >= 0 && missing <= 1)) throw new UserError($"--missing-fraction must lie in [0, 1]; got {missing}.");
            var binarization = p.GetValue(binarize) is { } b ? VaeCommands.ParseEnum<Binarization>(b, "--binarize")
                : model.Options.Decoder == DecoderKind.Bernoulli ? Binarization.Static : Binarization.None;
            var options = new InpaintingOptions
            {
                Inference = new LocalInferenceOptions
                {
                    Steps = VaeCommands.NonNegative(p.GetValue(steps), "--steps"),
                    LearningRate = VaeCommands.PositiveD(p.GetValue(lr), "--lr"),
                    FinalLearningRate = p.GetValue(lr) / 10,
                },
                ImportanceSamples = VaeCommands.Positive(p.GetValue(k), "--k"),
                FactorizedPixels = !p.GetValue(factorized),
            };
            int images = VaeCommands.Positive(p.GetValue(testLimit), "--test-limit");
            var (ds, _) = Common.LoadData(p.GetValue(data), p.GetValue(synthetic), p.GetValue(trainLimit), images, progress);
            if (ds.Test.Dimension != model.InputSize)
                throw new UserError($"the test images have {ds.Test.Dimension} pixels; the model in {run.Path} expects {model.InputSize}.");
            var s = new InpaintSettings(where, missing, binarization, p.GetValue(seed), VaeCommands.Positive(p.GetValue(count), "--count"), Common.PngName(p.GetValue(file)!), options);
            Inpaint(model, ds, s, run, progress);
        }));
        return cmd;
    }

    private sealed record InpaintSettings(string Region, double MissingFraction, Binarization Binarization, ulong Seed, int Shown, string PngName, InpaintingOptions Options);

    private static void Inpaint(VariationalAutoencoder model, FashionMnist ds, InpaintSettings s, RunDirectory run, Progress progress)
    {
        var test = ds.Test;
        var gen = new Generator(s.Seed ^ 0x1A9A1);
        var maskGen = new Generator(s.Seed ^ 0x3A5C);
        // The baseline: every missing pixel set to its mean over the training images, binarized as the test images are
        // (in expectation for dynamic binarization, whose mean is the grey level's).
        var means = Inpainting.PixelMeans(s.Binarization == Binarization.Static ? ds.Train.Pixels.Select(v => v > 0.5f ? 1f : 0f).ToArray() : ds.Train.Pixels, test.Dimension);
        var sampler = new BatchSampler(test, Batch, s.Binarization, s.Seed ^ 0x5EED);
        var all = new List<(InpaintingBatch Result, ObservationMask Mask)>();
        var bar = progress.Task($"inpaint ({s.Region}), k={s.Options.ImportanceSamples}");
        int done = 0;
        foreach (var (pixels, rows) in sampler.Epoch(0, shuffle: false))
        {
            var mask = MaskFor(s.Region, s.MissingFraction, test, rows.Length, maskGen);
            var x = Tensor.FromArray(pixels, rows.Length, test.Dimension);
            all.Add((Inpainting.Run(model, x, mask, gen, s.Options), mask));
            bar(++done, sampler.BatchesPerEpoch);
        }

        var gaps = all.Select(a => a.Result.Gaps).Aggregate((a, b) => a.Append(b));
        var scores = new Dictionary<string, InpaintingScore?>
        {
            ["per_data_point"] = Score(all, (r, _) => r.Filled),
            ["encoder"] = Score(all, (r, _) => r.EncoderFilled),
            ["factorized_pixels"] = all.All(a => a.Result.FactorizedFilled != null) ? Score(all, (r, _) => r.FactorizedFilled!) : null,
            ["pixel_mean"] = Score(all, (r, mask) => Inpainting.FillWithMeans(r.Truth, mask, means)),
        };
        double missingPerImage = (double)all.Sum(a => InpaintingScore.Of(a.Result.Truth, a.Result.Truth, a.Mask).MissingEntries) / test.Count;
        var fill = new JsonObject();
        foreach (var (name, score) in scores)
        {
            if (score is null || score.MissingEntries == 0) continue;
            fill[name] = new JsonObject { ["accuracy"] = score.Accuracy, ["cross_entropy"] = score.CrossEntropy, ["mean_absolute_error"] = score.MeanAbsoluteError };
        }
        var factorizedElbo = all.All(a => a.Result.FactorizedElbo != null) ? all.SelectMany(a => a.Result.FactorizedElbo!).Average() : (double?)null;
        if (factorizedElbo is { } fe && fill["factorized_pixels"] is JsonObject fo) fo["elbo"] = fe;
        var vi = scores["per_data_point"];
        var result = new JsonObject
        {
            ["region"] = s.Region,
            ["missing_pixels_per_image"] = missingPerImage,
            ["images"] = test.Count,
            ["binarization"] = s.Binarization.ToString().ToLowerInvariant(),
            ["k"] = s.Options.ImportanceSamples,
            ["steps"] = s.Options.Inference.Steps,
            ["lr"] = s.Options.Inference.LearningRate,
            ["log_p_x_obs"] = gaps.MeanLogLikelihood,
            ["elbo_encoder"] = gaps.MeanEncoderElbo,
            ["elbo_optimized"] = gaps.MeanOptimizedElbo,
            ["amortization_gap"] = gaps.AmortizationGap,
            ["approximation_gap"] = gaps.ApproximationGap,
            ["filled_accuracy"] = vi is { MissingEntries: > 0 } ? vi.Accuracy : null,
            ["fill"] = fill,
        };
        var metrics = run.ReadMetrics() ?? new JsonObject { ["command"] = "vae inpaint" };
        metrics["inpaint"] = result;
        using (var g = run.Begin())
        {
            g.WriteMetrics(metrics);
            WritePng(all, test, s.Shown, g.PathFor(s.PngName));
            g.Commit();
        }

        progress.Line($"{test.Count} images, {missingPerImage:F0} of {test.Dimension} pixels missing ({s.Region}): log p(x_obs) ~ {gaps.MeanLogLikelihood:F2} nats (k={s.Options.ImportanceSamples}); " +
                      $"ELBO {gaps.MeanEncoderElbo:F2} (encoder) -> {gaps.MeanOptimizedElbo:F2} (optimized): amortization gap {gaps.AmortizationGap:F2}, approximation gap {gaps.ApproximationGap:F2} nats");
        foreach (var (name, score) in scores)
            if (score is { MissingEntries: > 0 })
                progress.Line($"  fill by {name.Replace('_', ' ')}: accuracy {score.Accuracy:P2}, cross-entropy {score.CrossEntropy:F4} nats/pixel" +
                              (name == "factorized_pixels" && factorizedElbo is { } e ? $" (its ELBO {e:F2} nats)" : ""));
        progress.Line($"Wrote {s.PngName} and metrics.json to {run.Path}");
    }

    private static ObservationMask MaskFor(string region, double fraction, ImageDataSet test, int rows, Generator gen)
    {
        int h = test.Height, w = test.Width;
        return region switch
        {
            "top" => ObservationMask.HideRectangle(h, w, 0, 0, h / 2, w),
            "bottom" => ObservationMask.HideRectangle(h, w, h - h / 2, 0, h / 2, w),
            "left" => ObservationMask.HideRectangle(h, w, 0, 0, h, w / 2),
            "right" => ObservationMask.HideRectangle(h, w, 0, w - w / 2, h, w / 2),
            "center" => ObservationMask.HideRectangle(h, w, h / 4, w / 4, h / 2, w / 2),
            "random" => ObservationMask.MissingAtRandom(rows, h * w, fraction, gen),
            "none" => ObservationMask.AllObserved(1, h * w),
            _ => throw new UserError($"--region: '{region}' is not one of {string.Join(", ", Regions)}."),
        };
    }

    // One score over every batch: the batches' filled images and masks concatenated.
    private static InpaintingScore Score(List<(InpaintingBatch Result, ObservationMask Mask)> all, Func<InpaintingBatch, ObservationMask, float[]> filled)
    {
        long n = 0;
        double right = 0, ce = 0, mae = 0;
        foreach (var (r, mask) in all)
        {
            var s = InpaintingScore.Of(filled(r, mask), r.Truth, mask);
            if (s.MissingEntries == 0) continue;
            n += s.MissingEntries;
            right += s.Accuracy * s.MissingEntries;
            ce += s.CrossEntropy * s.MissingEntries;
            mae += s.MeanAbsoluteError * s.MissingEntries;
        }
        return n == 0 ? new InpaintingScore(double.NaN, double.NaN, double.NaN, 0) : new InpaintingScore(right / n, ce / n, mae / n, n);
    }

    // Per image, one row: original, masked, filled (per-data-point q), filled (encoder), filled (factorized q over pixels).
    private static void WritePng(List<(InpaintingBatch Result, ObservationMask Mask)> all, ImageDataSet test, int shown, string path)
    {
        int d = test.Dimension;
        var panels = new List<float[]>();
        int columns = 0;
        foreach (var (r, _) in all)
        {
            int rows = r.Truth.Length / d;
            for (int i = 0; i < rows && panels.Count / Math.Max(columns, 1) < shown; i++)
            {
                var row = new List<float[]> { Slice(r.Truth, i, d), Slice(r.Masked, i, d), Slice(r.Filled, i, d), Slice(r.EncoderFilled, i, d) };
                if (r.FactorizedFilled != null) row.Add(Slice(r.FactorizedFilled, i, d));
                columns = row.Count;
                panels.AddRange(row);
            }
        }
        Png.WriteGrid(path, panels, test.Height, test.Width, columns);
    }

    private static float[] Slice(float[] flat, int i, int d) => flat.AsSpan(i * d, d).ToArray();
}
