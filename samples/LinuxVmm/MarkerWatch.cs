using System.Diagnostics;
using System.Text;

namespace LinuxVmm;

/// <summary>The console's output stream: passes every byte through and notes when a line containing the marker has
/// been printed (the tests' proof that the guest reached userspace).</summary>
internal sealed class MarkerWatch(Stream inner, string? marker) : Stream
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly StringBuilder _line = new();

    public bool Seen { get; private set; }

    public long SeenAtMs { get; private set; }

    public override void WriteByte(byte value)
    {
        inner.WriteByte(value);
        if (marker is null || Seen)
            return;
        if (value == (byte)'\n')
        {
            if (_line.ToString().Contains(marker, StringComparison.Ordinal))
                (Seen, SeenAtMs) = (true, _clock.ElapsedMilliseconds);
            _line.Clear();
        }
        else if (_line.Length < 4096)
        {
            _line.Append((char)value);
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        foreach (var b in buffer.AsSpan(offset, count))
            WriteByte(b);
    }

    public override void Flush() => inner.Flush();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
