using Engine.Models.Gmm;

namespace Engine.Tests.Gmm;

/// <summary>
/// Degenerate data end in a clear error or a regularized fit, never in NaN: duplicate points, a constant column,
/// fewer points than components, NaN and infinity in the data, components that empty out.
/// </summary>
public class DegenerateDataTests
{
    private static void AssertFinite(GaussianMixture gmm, string what)
    {
        Assert.That(gmm.LowerBounds.All(double.IsFinite) && double.IsFinite(gmm.LowerBound) || gmm.MaxIterations == 0, $"{what}: lower bounds {string.Join(", ", gmm.LowerBounds)}");
        foreach (var (name, values) in new[] { ("weights", gmm.Weights), ("means", gmm.Means), ("covariances", gmm.Covariances), ("precisions", gmm.PrecisionsCholesky) })
            Assert.That(values.All(double.IsFinite), $"{what}: {name} hold NaN or infinity");
    }

    [Test]
    public void AllPointsIdentical_GiveARegularizedFit([Values] CovarianceType type, [Values] MixtureInitialization init)
    {
        double[] x = Enumerable.Repeat(new[] { 1.5, -2.0, 0.25 }, 40).SelectMany(r => r).ToArray();
        var gmm = new GaussianMixture(3) { CovarianceType = type, Initialization = init, Seed = 1 }.Fit(x, 40, 3);
        AssertFinite(gmm, $"{type}/{init}");
        Assert.That(gmm.Predict(x, 40, 3).Distinct().Count(), Is.EqualTo(1), "identical points share one cluster");
        Assert.That(gmm.ScoreSamples(x, 40, 3).All(double.IsFinite));
    }

    [Test]
    public void ManyDuplicates_AmongOtherPoints_GiveARegularizedFit([Values] CovarianceType type)
    {
        var random = new Random(2);
        var rows = new List<double>();
        for (int i = 0; i < 200; i++) rows.AddRange([Synthetic.Normal(random), Synthetic.Normal(random)]);
        for (int i = 0; i < 100; i++) rows.AddRange([5.0, 5.0]);   // a third of the data on one point
        double[] x = rows.ToArray();
        var gmm = new GaussianMixture(3) { CovarianceType = type, Seed = 4 }.Fit(x, 300, 2);
        AssertFinite(gmm, type.ToString());
    }

    [Test]
    public void ConstantColumn_IsRegularized_OrNamesTheComponent_WithoutRegularization([Values] CovarianceType type)
    {
        var random = new Random(3);
        const int n = 300;
        var x = new double[n * 3];
        for (int i = 0; i < n; i++)
        {
            x[i * 3] = Synthetic.Normal(random) + (i % 2 == 0 ? 4 : 0);
            x[i * 3 + 1] = Synthetic.Normal(random);
            x[i * 3 + 2] = 0.0;   // constant
        }
        var regularized = new GaussianMixture(2) { CovarianceType = type, Seed = 1 }.Fit(x, n, 3);
        AssertFinite(regularized, $"{type} with the default RegCovar");

        var bare = new GaussianMixture(2) { CovarianceType = type, Seed = 1, RegCovar = 0 };
        if (type == CovarianceType.Spherical)
        {
            // One variance averaged over the dimensions stays positive: a fit, not an error.
            AssertFinite(bare.Fit(x, n, 3), "spherical without RegCovar");
            return;
        }
        var ex = Assert.Throws<CovarianceNotPositiveDefiniteException>(() => bare.Fit(x, n, 3));
        Assert.That(ex!.Message, Does.Contain("RegCovar"));
        Assert.That(ex.Message, Does.Contain("positive definite"));
        if (type == CovarianceType.Tied)
        {
            Assert.That(ex.Component, Is.Null);
            Assert.That(ex.Message, Does.Contain("tied"));
        }
        else
        {
            Assert.That(ex.Component, Is.InRange(0, 1));
            Assert.That(ex.Message, Does.Contain($"component {ex.Component}"));
        }
        Assert.That(bare.IsFitted, Is.False, "a failed fit leaves the model unfitted");
    }

    [Test]
    public void SinglePointStarts_WithoutRegularization_NameTheComponent([Values(MixtureInitialization.KMeansPlusPlus, MixtureInitialization.RandomDataPoints)] MixtureInitialization init)
    {
        // Each component starts on one data point, whose covariance is zero: only RegCovar makes it usable.
        var random = new Random(8);
        double[] x = Enumerable.Range(0, 200).Select(_ => Synthetic.Normal(random)).ToArray();
        var gmm = new GaussianMixture(3) { Initialization = init, RegCovar = 0, Seed = 1 };
        var ex = Assert.Throws<CovarianceNotPositiveDefiniteException>(() => gmm.Fit(x, 100, 2));
        Assert.That(ex!.Component, Is.EqualTo(0));
        Assert.That(ex.Message, Does.Contain("Increase RegCovar"));
        gmm.RegCovar = 1e-6;
        AssertFinite(gmm.Fit(x, 100, 2), init.ToString());
    }

    [Test]
    public void FewerPointsThanComponents_IsAClearError()
    {
        double[] x = [0, 1, 2, 3, 4, 5];
        var ex = Assert.Throws<ArgumentException>(() => new GaussianMixture(4).Fit(x, 3, 2));
        Assert.That(ex!.Message, Does.Contain("4 components").And.Contain("3"));
        Assert.Throws<ArgumentException>(() => new GaussianMixture(1).Fit([1.0, 2.0], 1, 2));
    }

    [Test]
    public void ExactlyAsManyPointsAsComponents_GiveAFiniteFit([Values] CovarianceType type)
    {
        double[] x = [0, 0, 1, 0, 0, 1];
        var gmm = new GaussianMixture(3) { CovarianceType = type, Seed = 1 }.Fit(x, 3, 2);
        AssertFinite(gmm, type.ToString());
    }

    [Test]
    public void NonFiniteData_NameTheFirstBadRow([Values(double.NaN, double.PositiveInfinity, double.NegativeInfinity)] double bad)
    {
        var x = new double[50 * 4];
        for (int i = 0; i < x.Length; i++) x[i] = i % 13;
        x[17 * 4 + 2] = bad;
        x[30 * 4 + 1] = bad;
        var gmm = new GaussianMixture(2);
        var ex = Assert.Throws<ArgumentException>(() => gmm.Fit(x, 50, 4));
        Assert.That(ex!.Message, Does.Contain("Row 17").And.Contain("column 2"));
        Assert.That(ex.ParamName, Is.EqualTo("x"));

        x[17 * 4 + 2] = 1;
        x[30 * 4 + 1] = 1;
        gmm.Seed = 1;
        gmm.Fit(x, 50, 4);
        x[3] = bad;
        Assert.That(Assert.Throws<ArgumentException>(() => gmm.Predict(x, 50, 4))!.Message, Does.Contain("Row 0"));
    }

    [Test]
    public void EmptiedComponents_AreGuarded([Values] CovarianceType type)
    {
        // Two tight clusters and five components: some components end up with (almost) no points.
        var random = new Random(5);
        var x = new double[400];
        for (int i = 0; i < 200; i++)
        {
            x[2 * i] = (i < 100 ? 0 : 100) + 0.01 * Synthetic.Normal(random);
            x[2 * i + 1] = 0.01 * Synthetic.Normal(random);
        }
        var gmm = new GaussianMixture(5) { CovarianceType = type, Initialization = MixtureInitialization.RandomResponsibilities, Seed = 7, MaxIterations = 200 };
        gmm.Fit(x, 200, 2);
        AssertFinite(gmm, type.ToString());
        Assert.That(gmm.Weights.Sum(), Is.EqualTo(1).Within(1e-12));
    }

    [Test]
    public void HugeValues_StayFinite()
    {
        var random = new Random(6);
        var x = new double[600];
        for (int i = 0; i < x.Length; i++) x[i] = 1e150 * (Synthetic.Normal(random) + (i % 4 < 2 ? 0 : 5));
        foreach (CovarianceType type in Enum.GetValues<CovarianceType>())
        {
            try
            {
                var gmm = new GaussianMixture(2) { CovarianceType = type, Seed = 1 }.Fit(x, 300, 2);
                AssertFinite(gmm, type.ToString());
            }
            catch (InvalidOperationException e)
            {
                // A clear error is acceptable at this scale (squares of 1e150 overflow); NaN is not.
                Assert.That(e.Message, Does.Contain("Row").Or.Contain("RegCovar"), type.ToString());
            }
        }
    }
}
