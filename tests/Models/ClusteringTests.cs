using Engine.Models.Metrics;

namespace Engine.Tests.Models;

public class ClusteringTests
{
    [Test]
    public void IdenticalPartitionsUpToRenamingScoreOne() =>
        Assert.That(Clustering.AdjustedRandIndex([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9]), Is.EqualTo(1).Within(1e-12));

    [Test]
    public void MatchesScikitLearnOnAHandExample()
    {
        // sklearn.metrics.adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]) = 0.5714285714285714
        Assert.That(Clustering.AdjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2]), Is.EqualTo(0.5714285714285714).Within(1e-12));
        // adjusted_rand_score([0, 0, 1, 2], [0, 0, 1, 1]) is symmetric
        Assert.That(Clustering.AdjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1]), Is.EqualTo(0.5714285714285714).Within(1e-12));
        // adjusted_rand_score([0, 0, 0, 0], [0, 1, 2, 3]) = 0.0
        Assert.That(Clustering.AdjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3]), Is.EqualTo(0).Within(1e-12));
    }

    [Test]
    public void IndependentLabelingsScoreNearZero()
    {
        var rng = new Random(3);
        var a = Enumerable.Range(0, 20000).Select(_ => rng.Next(10)).ToArray();
        var b = Enumerable.Range(0, 20000).Select(_ => rng.Next(10)).ToArray();
        Assert.That(Math.Abs(Clustering.AdjustedRandIndex(a, b)), Is.LessThan(0.01));
    }
}
