using System.Text;
using System.Text.Json;
using Kvm.Generators.Model;

namespace Kvm.Cli;

/// <summary>The `abi dump --json` format: arch, structs (every named field at its byte offset, anonymous members
/// flattened), constants (every integer macro of linux/kvm.h and asm/kvm.h C can evaluate), ioctls.</summary>
internal static class AbiJson
{
    public static string Write(AbiModel model)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("arch", model.Arch);
            w.WriteString("profile", model.Profile);
            w.WriteStartArray("structs");
            foreach (var s in model.Structs)
            {
                w.WriteStartObject();
                w.WriteString("name", s.Name);
                w.WriteString("kind", s.IsUnion ? "union" : "struct");
                w.WriteNumber("size", s.Size);
                w.WriteNumber("align", s.Align);
                w.WriteStartArray("fields");
                foreach (var f in s.Members)
                {
                    w.WriteStartObject();
                    w.WriteString("name", f.Name);
                    w.WriteNumber("offset", f.Offset);
                    w.WriteNumber("size", f.Size);
                    w.WriteString("type", f.CType);
                    if (f.IsBitfield) { w.WriteNumber("bitOffset", f.BitOffset); w.WriteNumber("bitWidth", f.BitWidth); }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("constants");
            foreach (var c in model.Constants)
            {
                w.WriteStartObject();
                w.WriteString("name", c.Name);
                if (c.Value.Signed) w.WriteNumber("value", c.Value.AsSigned); else w.WriteNumber("value", c.Bits);
                w.WriteString("type", Generators.Parsing.CValue.CName(c.Kind));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("ioctls");
            foreach (var i in model.Ioctls)
            {
                w.WriteStartObject();
                w.WriteString("name", i.Name);
                w.WriteNumber("value", i.Value);
                w.WriteString("direction", Direction(i.Direction));
                w.WriteNumber("size", i.Size);
                if (i.ArgCType is null) w.WriteNull("argType"); else w.WriteString("argType", i.ArgCType);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string Direction(int dir) => dir switch { 1 => "write", 2 => "read", 3 => "readwrite", _ => "none" };
}
