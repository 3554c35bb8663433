namespace Engine.Kernels.Gpu;

/// <summary>
/// The blocking of the device GEMM, as data: a group of ThreadsM x ThreadsN threads computes a block of
/// (ThreadsM·MicroM) x (ThreadsN·MicroN) elements of C, stepping through k by DepthK; each thread accumulates a
/// MicroM x MicroN register tile (4 or 8 each way, as 4x4 quadrants). Implemented by empty structs whose properties
/// are constants, so each configuration compiles to its own kernel with every size folded in (ILGPU specializes a
/// generic kernel per struct type, the way a C++ template would).
/// </summary>
public interface IGemmTile
{
    int ThreadsM { get; }
    int ThreadsN { get; }
    /// <summary>Rows per thread: 4 or 8.</summary>
    int MicroM { get; }
    /// <summary>Columns per thread: 4 or 8.</summary>
    int MicroN { get; }
    /// <summary>Depth of one shared-memory step.</summary>
    int DepthK { get; }
}

/// <summary>128 x 128 blocks, 256 threads of 8 x 8: large products (the 4096^3 benchmark, wide VAE layers).</summary>
public struct Tile128x128 : IGemmTile
{
    public readonly int ThreadsM => 16;
    public readonly int ThreadsN => 16;
    public readonly int MicroM => 8;
    public readonly int MicroN => 8;
    public readonly int DepthK => 8;
}

/// <summary>64 x 64 blocks, 256 threads of 4 x 4: mid-sized products, more blocks to fill the machine.</summary>
public struct Tile64x64 : IGemmTile
{
    public readonly int ThreadsM => 16;
    public readonly int ThreadsN => 16;
    public readonly int MicroM => 4;
    public readonly int MicroN => 4;
    public readonly int DepthK => 16;
}

/// <summary>32 x 32 blocks, 64 threads of 4 x 4: small products and thin shapes.</summary>
public struct Tile32x32 : IGemmTile
{
    public readonly int ThreadsM => 8;
    public readonly int ThreadsN => 8;
    public readonly int MicroM => 4;
    public readonly int MicroN => 4;
    public readonly int DepthK => 16;
}

/// <summary>32 x 32 blocks of 16 threads with 8 x 8 register tiles: the 128 x 128 code path at a size ILGPU's CPU
/// accelerator simulates quickly (the tests run every path on it).</summary>
public struct Tile32x32Micro8 : IGemmTile
{
    public readonly int ThreadsM => 4;
    public readonly int ThreadsN => 4;
    public readonly int MicroM => 8;
    public readonly int MicroN => 8;
    public readonly int DepthK => 8;
}

/// <summary>16 x 16 blocks, 16 threads of 4 x 4: the smallest, for tiny products and the CPU accelerator.</summary>
public struct Tile16x16 : IGemmTile
{
    public readonly int ThreadsM => 4;
    public readonly int ThreadsN => 4;
    public readonly int MicroM => 4;
    public readonly int MicroN => 4;
    public readonly int DepthK => 8;
}

/// <summary>Names of the tile configurations, for choosing one at run time.</summary>
public enum GemmTile
{
    /// <summary>Chosen by the problem's shape and the accelerator's group size.</summary>
    Auto,
    Tile128x128,
    Tile64x64,
    Tile32x32,
    Tile32x32Micro8,
    Tile16x16,
}
