using System.Buffers.Binary;
using System.IO.Compression;
using Engine.IO;

namespace Engine.Cli.Output;

/// <summary>
/// A minimal PNG encoder for grey-scale images (8-bit, colour type 0), enough for image grids; chunks are
/// CRC-checked as the PNG specification requires and the file is written atomically.
/// </summary>
public static class Png
{
    /// <summary>Writes a width x height grey image, one byte per pixel, row-major.</summary>
    public static void WriteGray(string path, byte[] pixels, int width, int height)
    {
        if (pixels.Length != width * height) throw new ArgumentException($"{pixels.Length} pixels for a {width}x{height} image.", nameof(pixels));
        AtomicFile.Write(path, s =>
        {
            s.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
            var ihdr = new byte[13];
            BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
            BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
            ihdr[8] = 8; // bit depth
            ihdr[9] = 0; // grey
            Chunk(s, "IHDR", ihdr);
            using var ms = new MemoryStream();
            using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true))
            {
                for (int y = 0; y < height; y++)
                {
                    z.WriteByte(0); // filter: none
                    z.Write(pixels, y * width, width);
                }
            }
            Chunk(s, "IDAT", ms.ToArray());
            Chunk(s, "IEND", []);
        });
    }

    /// <summary>
    /// Tiles images (each h x w, intensities in [0, 1]) into a grid of <paramref name="columns"/> columns with a
    /// one-pixel border, upscaled by <paramref name="scale"/>, and writes it as a PNG.
    /// </summary>
    public static void WriteGrid(string path, IReadOnlyList<float[]> images, int h, int w, int columns, int scale = 2)
    {
        if (images.Count == 0) throw new ArgumentException("No images to write.", nameof(images));
        int rows = (images.Count + columns - 1) / columns;
        int cellW = w * scale + 1, cellH = h * scale + 1;
        int width = columns * cellW + 1, height = rows * cellH + 1;
        var px = new byte[width * height];
        Array.Fill(px, (byte)96);
        for (int i = 0; i < images.Count; i++)
        {
            int oy = (i / columns) * cellH + 1, ox = (i % columns) * cellW + 1;
            var img = images[i];
            for (int y = 0; y < h * scale; y++)
                for (int x = 0; x < w * scale; x++)
                {
                    float v = img[(y / scale) * w + x / scale];
                    px[(oy + y) * width + ox + x] = (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);
                }
        }
        WriteGray(path, px, width, height);
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        uint crc = Crc32(typeBytes, 0xFFFFFFFFu);
        crc = Crc32(data, crc) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(len, crc);
        s.Write(len);
    }

    private static readonly uint[] s_table = MakeTable();

    private static uint[] MakeTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    private static uint Crc32(ReadOnlySpan<byte> data, uint crc)
    {
        foreach (byte b in data) crc = s_table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
