using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Devices;

namespace Engine.IO;

/// <summary>
/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header mapping each
/// name to {dtype, shape, data_offsets} plus an optional "__metadata__" map of strings, then the raw
/// little-endian tensor bytes. PyTorch reads these files with safetensors.torch.load_file.
/// Writes are atomic (temporary file, then rename).
/// </summary>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";

    /// <summary>Saves named tensors (and string metadata) to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header[MetadataKey] = meta;
        }
        long offset = 0;
        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        foreach (var (name, t) in ordered)
        {
            if (name == MetadataKey) throw new ArgumentException($"A tensor may not be named '{MetadataKey}'.", nameof(tensors));
            ArgumentNullException.ThrowIfNull(t, $"tensors[{name}]");
            long bytes = (long)t.Count * t.DType.Size();
            var shape = new JsonArray();
            for (int i = 0; i < t.Rank; i++) shape.Add(t.Shape[i]);
            header[name] = new JsonObject
            {
                ["dtype"] = t.DType == DType.Float32 ? "F32" : "F64",
                ["shape"] = shape,
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8; // the format allows trailing spaces; alignment keeps tensors 8-byte aligned
        AtomicFile.Write(path, s =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            s.Write(len);
            s.Write(json);
            for (int i = json.Length; i < padded; i++) s.WriteByte((byte)' ');
            foreach (var (_, t) in ordered)
            {
                if (t.DType == DType.Float32) WriteLE(s, t.ToFloatArray());
                else WriteLE(s, t.ToDoubleArray());
            }
        });
    }

    private static void WriteLE<T>(Stream s, T[] data) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing needs a little-endian machine.");
        s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
    }

    /// <summary>The tensors and metadata of a safetensors file, as new leaf tensors on <paramref name="device"/>.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path, Device? device = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file '{path}' does not exist.", path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"'{path}' is not a safetensors file: {bytes.Length} bytes, shorter than the 8-byte header length.");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen > (ulong)(bytes.Length - 8)) throw new InvalidDataException($"'{path}': header length {headerLen} exceeds the file ({bytes.Length} bytes); the file is truncated or not safetensors.");
        JsonObject header;
        try
        {
            header = JsonNode.Parse(bytes.AsSpan(8, (int)headerLen))?.AsObject() ?? throw new InvalidDataException($"'{path}': the safetensors header is empty (null).");
            _ = header.Count; // JsonObject decodes its property names lazily: force it here, where errors are caught
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{path}': the safetensors header is not a JSON object ({e.Message}).", e);
        }
        int dataStart = 8 + (int)headerLen;
        long dataLen = bytes.Length - dataStart;
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in header)
        {
            if (name == MetadataKey)
            {
                try
                {
                    if (node is JsonObject meta) foreach (var (k, v) in meta) metadata[k] = v?.GetValue<string>() ?? "";
                }
                catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
                {
                    throw new InvalidDataException($"'{path}': the {MetadataKey} entry must map names to strings ({e.Message}).", e);
                }
                continue;
            }
            try
            {
                var o = node!.AsObject();
                string dtype = o["dtype"]!.GetValue<string>();
                var dims = o["shape"]!.AsArray().Select(d => d!.GetValue<int>()).ToArray();
                var offs = o["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
                var shape = new Shape(dims);
                int size = dtype switch { "F32" => 4, "F64" => 8, _ => throw new InvalidDataException($"dtype {dtype} is not supported (F32 and F64 are)") };
                if (offs.Length != 2 || offs[0] < 0 || offs[1] > dataLen || offs[1] - offs[0] != (long)shape.Count * size)
                    throw new InvalidDataException($"data_offsets [{string.Join(", ", offs)}] do not fit shape {shape} of {dtype} within {dataLen} data bytes");
                var span = bytes.AsSpan(dataStart + (int)offs[0], (int)(offs[1] - offs[0]));
                // Created with the parsed Shape (FromSpan reads empty dims as 1-D, which turned scalars into [1]).
                var t = Tensor.Create(shape, size == 4 ? DType.Float32 : DType.Float64, device ?? Device.Default);
                if (size == 4) t.CopyFrom<float>(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(span));
                else t.CopyFrom<double>(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(span));
                tensors[name] = t;
            }
            catch (Exception e) when (e is not InvalidDataException)
            {
                throw new InvalidDataException($"'{path}': entry '{name}' is malformed ({e.Message}).", e);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"'{path}': entry '{name}': {e.Message}.", e);
            }
        }
        return (tensors, metadata);
    }
}
