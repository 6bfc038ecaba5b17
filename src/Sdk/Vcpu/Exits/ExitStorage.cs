using System.Runtime.CompilerServices;

namespace Kvm;

/// <summary>Inline copy of the 16 <c>__u64</c> of <c>kvm_run.system_event.data</c> / <c>kvm_run.internal.data</c>, so
/// the exit records can be kept after the vCPU runs again without allocating.</summary>
[InlineArray(16)]
internal struct ExitWords16
{
    private ulong _element0;
}

internal static class ExitWords16Format
{
    /// <summary>The first min(<paramref name="count"/>, 16) words as <c>0x…, 0x…</c>.</summary>
    public static string Format(this in ExitWords16 words, uint count)
    {
        var n = (int)Math.Min(count, 16u);
        var parts = new string[n];
        for (var i = 0; i < n; i++)
            parts[i] = $"0x{words[i]:X}";
        return string.Join(", ", parts);
    }
}

/// <summary>Inline copy of the first 136 bytes of the <c>kvm_run</c> exit union (the largest x86/arm64 member is
/// <c>internal</c>/<c>system_event</c>: 8 + 16 × 8 bytes), for <see cref="VcpuExitSnapshot"/>.</summary>
[InlineArray(ExitPayload.Words)]
internal struct ExitPayload
{
    /// <summary>Words copied (136 bytes).</summary>
    public const int Words = 17;

    /// <summary>Bytes copied.</summary>
    public const int Bytes = Words * 8;

    private ulong _element0;
}

/// <summary>Inline storage of <see cref="ExitBytes"/>.</summary>
[InlineArray(ExitBytes.Capacity)]
internal struct ExitBytes16
{
    private byte _element0;
}
