using System.Buffers.Binary;
using System.IO.Compression;

namespace Engine.Models.Data;

/// <summary>
/// Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al.): a magic number whose third byte is
/// the element type (0x08 = unsigned byte) and fourth the rank, big-endian 32-bit dimensions, then the data.
/// Files may be gzip-compressed (detected by the gzip magic bytes, not the name).
/// </summary>
public static class Idx
{
    /// <summary>The dimensions and raw bytes of an IDX file of unsigned bytes.</summary>
    public static (int[] Dims, byte[] Data) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        byte[] raw = File.ReadAllBytes(path);
        if (raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
        {
            try
            {
                using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var ms = new MemoryStream();
                gz.CopyTo(ms);
                raw = ms.ToArray();
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"'{path}' starts like gzip but does not decompress: {e.Message}", e);
            }
        }
        return Parse(raw, path);
    }

    /// <summary>Parses IDX bytes; <paramref name="name"/> is used in error messages.</summary>
    public static (int[] Dims, byte[] Data) Parse(byte[] raw, string name)
    {
        if (raw.Length < 4 || raw[0] != 0 || raw[1] != 0)
            throw new InvalidDataException($"'{name}' is not an IDX file (bad magic number).");
        if (raw[2] != 0x08)
            throw new InvalidDataException($"'{name}': IDX element type 0x{raw[2]:x2} is not supported (only unsigned bytes, 0x08).");
        int rank = raw[3];
        if (rank < 1 || raw.Length < 4 + 4 * rank)
            throw new InvalidDataException($"'{name}': IDX header of rank {rank} is truncated.");
        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(4 + 4 * i));
            if (dims[i] < 0) throw new InvalidDataException($"'{name}': dimension {i} is negative ({dims[i]}).");
            count *= dims[i];
        }
        int start = 4 + 4 * rank;
        if (raw.Length - start != count)
            throw new InvalidDataException($"'{name}': header [{string.Join(", ", dims)}] needs {count} bytes of data; the file has {raw.Length - start}.");
        return (dims, raw.AsSpan(start).ToArray());
    }
}
