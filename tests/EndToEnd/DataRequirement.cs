using Engine.Models.Data;

namespace Engine.Tests.EndToEnd;

/// <summary>
/// End-to-end tests need Fashion-MNIST: on a machine without it they are skipped with the reason, but under CI
/// (CI=true) a missing data set fails, so a broken install cannot pass silently.
/// </summary>
internal static class DataRequirement
{
    public static string FashionMnistDir()
    {
        var dir = FashionMnist.Locate();
        if (dir != null) return dir;
        const string how = "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist, or set ENGINE_DATA).";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)) Assert.Fail(how + " CI requires it.");
        Assert.Ignore(how);
        return "";
    }
}
