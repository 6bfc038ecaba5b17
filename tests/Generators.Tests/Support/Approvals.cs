namespace Kvm.Generators.Tests.Support;

/// <summary>
/// A small golden-file helper (Verify.Xunit cannot be restored here: its core package is not served). Compares
/// text with Approved/&lt;name&gt;.approved.txt next to the test source; on a difference or a missing file it writes
/// &lt;name&gt;.received.txt and fails. Set KVM_APPROVE=1 to accept the received text as the new approved one.
/// The directory is found from the repository root, not from [CallerFilePath]: a CI build (CI=true, hence
/// ContinuousIntegrationBuild) maps source paths to /_/, where no approved file exists (likely the golden failures in stop 21's CI).
/// </summary>
internal static class Approvals
{
    public static string ApprovedDirectory { get; } = Path.Combine(Repo.Root, "tests", "Generators.Tests", "Approved");

    public static void Verify(string actual, string name)
    {
        actual = actual.ReplaceLineEndings("\n");
        var dir = ApprovedDirectory;
        Directory.CreateDirectory(dir);
        var approved = Path.Combine(dir, name + ".approved.txt");
        var received = Path.Combine(dir, name + ".received.txt");
        if (Environment.GetEnvironmentVariable("KVM_APPROVE") == "1")
        {
            File.WriteAllText(approved, actual);
            File.Delete(received);
            return;
        }
        if (File.Exists(approved) && File.ReadAllText(approved).ReplaceLineEndings("\n") == actual)
        {
            File.Delete(received);
            return;
        }
        File.WriteAllText(received, actual);
        throw new Xunit.Sdk.XunitException(File.Exists(approved)
            ? $"{name}: output differs from {approved}; see {received} (KVM_APPROVE=1 accepts it)"
            : $"{name}: no approved file yet; review {received} and accept it with KVM_APPROVE=1");
    }
}
