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
        if (raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) raw = Gunzip(raw, path);
        return Parse(raw, path);
    }

    // The gzip trailer's ISIZE (uncompressed size mod 2^32) bounds the output before anything is allocated, so a
    // crafted file cannot make the reader inflate gigabytes; a stream that disagrees with it is corrupt.
    private static byte[] Gunzip(byte[] gz, string path)
    {
        if (gz.Length < 18) throw new InvalidDataException($"'{path}' is a truncated gzip file ({gz.Length} bytes).");
        uint isize = BinaryPrimitives.ReadUInt32LittleEndian(gz.AsSpan(gz.Length - 4));
        const uint MaxBytes = 1u << 30;
        if (isize > MaxBytes) throw new InvalidDataException($"'{path}': the gzip trailer announces {isize} bytes, more than an IDX file of this reader may hold ({MaxBytes}).");
        var output = new byte[isize];
        int read = 0;
        try
        {
            using var z = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
            while (read < output.Length)
            {
                int n = z.Read(output, read, output.Length - read);
                if (n == 0) break;
                read += n;
            }
            if (read != output.Length || z.ReadByte() != -1)
                throw new InvalidDataException($"'{path}': the gzip data does not match its trailer's size ({isize} bytes); the file is truncated or corrupt.");
        }
        catch (Exception e) when (e is not InvalidDataException and (IOException or NotSupportedException or ArgumentException))
        {
            throw new InvalidDataException($"'{path}' starts like gzip but does not decompress: {e.Message}", e);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith($"'{path}'", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{path}' starts like gzip but does not decompress: {e.Message}", e);
        }
        return output;
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
