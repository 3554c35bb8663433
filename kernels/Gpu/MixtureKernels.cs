using ILGPU;

namespace Engine.Kernels.Gpu;

/// <summary>The sizes and scalars every mixture kernel reads: N rows of D dimensions, K components.</summary>
public struct MixtureDims
{
    public int N, K, D;
    /// <summary>A <see cref="MixtureCovariance"/> as its integer value.</summary>
    public int Type;
    /// <summary>Columns of the statistics: 1 (N_k) + D (sum r x) + D (diagonal: sum r x^2) or 1 (spherical: sum r |x|^2).</summary>
    public int Width;
    /// <summary>Columns of the diagonal types' E-step coefficients: [-2 mu prec | prec] (2 D or D + 1).</summary>
    public int Coef;
    /// <summary>Number of D x D matrices: K (full), 1 (tied), 0 otherwise.</summary>
    public int Matrices;
    /// <summary>-D/2 log 2 pi.</summary>
    public double LogNormalizer;
    /// <summary>reg_covar, added to every covariance diagonal.</summary>
    public double Reg;
}

/// <summary>
/// Expectation-maximization for a Gaussian mixture as device kernels, in float64 with scikit-learn's semantics and
/// the CPU E-step's formulas (engine/Mixtures/CpuMixtureEStep.cs, its twin the tests hold these against; the M-step twin is models/Gmm/MixtureMStep.cs). They know
/// nothing of tensors: data X (N x D row-major), responsibilities (K x N, component-major, so neighbouring threads
/// take neighbouring rows), parameters in scikit-learn's layout (weights K, means K x D, covariances and precision
/// factors K x D x D, D x D, K x D or K).
/// </summary>
/// <remarks>
/// <para>The products with the data (C_k^T x for full and tied covariances, [-2 mu prec] x and prec x^2 for the
/// diagonal types, the full scatter W^T X) are the tiled GEMM (<see cref="GemmKernel"/>); the kernels here are the
/// memory-bound passes around them. Reductions over the N rows go in two stages, per-group partial sums (a tree in
/// shared memory, or a chunk of rows per group) and then one in-order sum, so results do not depend on timing.</para>
/// <para>The Cholesky factorization runs a group per matrix (right-looking, one column per step with barriers); a
/// covariance that is not positive definite leaves its failing column in <c>failures</c> and <see cref="Status"/>
/// reports the first one, in the CPU's order, so the host can raise the same error after its one read.</para>
/// <para>Speed on a GPU has not been measured (no GPU was available). Known shortcuts to revisit when it is: the
/// moment-statistics pass splits the rows across groups but does not stage X in shared memory; the Cholesky uses K
/// groups (one per matrix), which leaves most of a large GPU idle for small K; the full scatter computes the whole
/// D x D block where the CPU skips a triangle, and the E-step multiplies by the dense (triangular) precision factor.</para>
/// </remarks>
public static class MixtureKernels
{
    /// <summary>scikit-learn adds 10 machine epsilons to every N_k (an empty component divides by a tiny number, not zero).</summary>
    public const double EmptyGuard = 10 * 2.220446049250313e-16;

    /// <summary>Smallest argument of exp in the responsibilities, as on the CPU (CpuMixtureEStep.MinExponent).</summary>
    public const double MinExponent = -700;

    // ------------------------------------------------------------------ E-step

    /// <summary>
    /// The per-iteration constants of the E-step from the precision factors C (Sigma^-1 = C C^T): constK[k] = log pi_k
    /// + log det C_k - D/2 log 2 pi (- 1/2 mu^T prec mu for the diagonal types); for full and tied covariances the
    /// stacked C_f^T (coef, Matrices·D x D) and whitened means c[k, j] = (C_f^T mu_k)_j; for the diagonal types the
    /// coefficient rows [-2 mu prec | prec] (coef, K x Coef). Three independent grid-stride loops.
    /// </summary>
    public static void Prepare(ArrayView<double> weights, ArrayView<double> means, ArrayView<double> precChol,
        ArrayView<double> coef, ArrayView<double> whitened, ArrayView<double> constK, MixtureDims p)
    {
        int stride = Grid.DimX * Group.DimX, k = p.K, d = p.D, dd = d * d;
        bool matrix = p.Type <= (int)MixtureCovariance.Tied;
        for (int c = Grid.GlobalIndex.X; c < k; c += stride)
        {
            double v;
            if (matrix)
            {
                int f = p.Type == (int)MixtureCovariance.Full ? c : 0;
                double logDet = 0;
                for (int j = 0; j < d; j++) logDet += Math.Log(precChol[f * dd + j * d + j]);
                v = Math.Log(weights[c]) + p.LogNormalizer + logDet;
            }
            else if (p.Type == (int)MixtureCovariance.Diagonal)
            {
                double logDet = 0, muPrecMu = 0;
                for (int j = 0; j < d; j++)
                {
                    double chol = precChol[c * d + j], prec = chol * chol, mu = means[c * d + j];
                    logDet += Math.Log(chol);
                    muPrecMu += mu * mu * prec;
                }
                v = Math.Log(weights[c]) + p.LogNormalizer + logDet - 0.5 * muPrecMu;
            }
            else
            {
                double chol = precChol[c], prec = chol * chol, mu2 = 0;
                for (int j = 0; j < d; j++) mu2 += means[c * d + j] * means[c * d + j];
                v = Math.Log(weights[c]) + p.LogNormalizer + d * Math.Log(chol) - 0.5 * prec * mu2;
            }
            constK[c] = v;
        }
        for (int e = Grid.GlobalIndex.X; e < k * d; e += stride)
        {
            int c = e / d, j = e - c * d;
            if (matrix)
            {
                int f = p.Type == (int)MixtureCovariance.Full ? c : 0;
                double cj = 0;
                for (int i = 0; i <= j; i++) cj += precChol[f * dd + i * d + j] * means[c * d + i];
                whitened[e] = cj;
            }
            else if (p.Type == (int)MixtureCovariance.Diagonal)
            {
                double chol = precChol[e], prec = chol * chol;
                coef[c * p.Coef + j] = -2 * means[e] * prec;
                coef[c * p.Coef + d + j] = prec;
            }
            else
            {
                double chol = precChol[c], prec = chol * chol;
                coef[c * p.Coef + j] = means[e] * (-2 * prec);
                if (j == 0) coef[c * p.Coef + d] = prec;
            }
        }
        // C_f^T row by row: coef[f, j, l] = C_f[l, j] (lower triangular; the GEMM reads it as an M x D operand).
        for (int e = Grid.GlobalIndex.X; e < p.Matrices * dd; e += stride)
        {
            int f = e / dd, r = e - f * dd, j = r / d, l = r - j * d;
            coef[e] = precChol[f * dd + l * d + j];
        }
    }

    /// <summary>
    /// Full and tied covariances: l[k, r0 + i] = constK[k] - 1/2 sum_j (y[(f D + j), i] - c[k, j])^2 for the rows i of
    /// a block, where y = [C_1 .. C_F]^T X_b^T (leading dimension <paramref name="ldy"/>) and f = k (full) or 0 (tied).
    /// One thread per (k, i), i fastest, so a warp reads neighbouring columns of y.
    /// </summary>
    public static void MahalanobisLogDensities(ArrayView<double> y, ArrayView<double> whitened, ArrayView<double> constK, ArrayView<double> l,
        int r0, int rows, int ldy, MixtureDims p)
    {
        int total = p.K * rows, d = p.D;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int c = e / rows, i = e - c * rows;
            int f = p.Type == (int)MixtureCovariance.Full ? c : 0;
            double s = 0;
            for (int j = 0; j < d; j++)
            {
                double t = y[(f * d + j) * ldy + i] - whitened[c * d + j];
                s += t * t;
            }
            l[c * p.N + r0 + i] = s * -0.5 + constK[c];
        }
    }

    /// <summary>
    /// Diagonal types, after the GEMMs wrote -1/2 [(-2 mu prec) . x + prec . x^2] (diagonal) or -1/2 (-2 mu prec) . x
    /// (spherical) into l: adds -1/2 prec_k |x_i|^2 (spherical) and constK[k]. One thread per (k, i).
    /// </summary>
    public static void AddComponentConstants(ArrayView<double> l, ArrayView<double> rowNorms, ArrayView<double> coef, ArrayView<double> constK, MixtureDims p)
    {
        int total = p.K * p.N;
        bool spherical = p.Type == (int)MixtureCovariance.Spherical;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int c = e / p.N, i = e - c * p.N;
            double v = l[e];
            if (spherical) v = rowNorms[i] * (-0.5 * coef[c * p.Coef + p.D]) + v;
            l[e] = v + constK[c];
        }
    }

    /// <summary>
    /// In place, per row i: log p(x_i) = logsumexp_k l[k, i] and r_ik = e^(l_ik - max) / sum_k e^(l_ik - max) (arguments
    /// clamped at <see cref="MinExponent"/> as on the CPU). logNorm[i] gets log p(x_i), or the row's largest l when
    /// that is not finite (for the error message); partial[g] the sum of log p(x_i) over the rows group g visited.
    /// </summary>
    public static void LogSumExpResponsibilities(ArrayView<double> lr, ArrayView<double> logNorm, ArrayView<double> partial, MixtureDims p)
    {
        var shared = SharedMemory.GetDynamic<double>();
        int n = p.N, k = p.K;
        double s = 0;
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            double m = lr[i];
            for (int c = 1; c < k; c++) m = DeviceMath.Max(m, lr[c * n + i]);
            double sum = 0;
            for (int c = 0; c < k; c++)
            {
                double t = Math.Exp(DeviceMath.Max(lr[c * n + i] - m, MinExponent));
                lr[c * n + i] = t;
                sum += t;
            }
            double ln = Math.Log(sum) + m;
            s += ln;
            logNorm[i] = DeviceMath.IsFinite(ln) ? ln : m;
            for (int c = 0; c < k; c++) lr[c * n + i] = lr[c * n + i] / sum;
        }
        s = GroupReduce.Sum(shared, s);
        if (Group.IdxX == 0) partial[Grid.IdxX] = s;
    }

    /// <summary>status[0] = (sum of partial[0 .. groups)) / N, the mean log-likelihood; status[1] = 0 (one group).</summary>
    public static void MeanLogLikelihood(ArrayView<double> partial, ArrayView<double> status, int groups, MixtureDims p)
    {
        var shared = SharedMemory.GetDynamic<double>();
        double s = 0;
        for (int g = Group.IdxX; g < groups; g += Group.DimX) s += partial[g];
        s = GroupReduce.Sum(shared, s);
        if (Group.IdxX == 0)
        {
            status[0] = s / p.N;
            status[1] = 0;
            status[2] = 0;
        }
    }

    /// <summary>rowNorms[i] = |x_i|^2 (once per data set, for the spherical type).</summary>
    public static void RowSquaredNorms(ArrayView<double> x, ArrayView<double> rowNorms, MixtureDims p)
    {
        for (int i = Grid.GlobalIndex.X; i < p.N; i += Grid.DimX * Group.DimX)
        {
            double s = 0;
            for (int j = 0; j < p.D; j++) s += x[i * p.D + j] * x[i * p.D + j];
            rowNorms[i] = s;
        }
    }

    // ------------------------------------------------------------------ M-step

    /// <summary>
    /// The M-step's sufficient statistics over one chunk of <paramref name="chunkRows"/> rows per group: partial[g, k, j]
    /// = sum_i r_ik f_j(x_i) with the features f = (1, x, x^2 (diagonal) or |x|^2 (spherical)), Width columns. A
    /// group's threads take neighbouring columns of one component, so they read neighbouring elements of x_i and share
    /// r_ik; splitting the rows across groups keeps the machine busy when K·Width is small.
    /// </summary>
    public static void Moments(ArrayView<double> resp, ArrayView<double> x, ArrayView<double> rowNorms, ArrayView<double> partial, int chunkRows, int chunks, MixtureDims p)
    {
        int w = p.Width, outputs = p.K * w, d = p.D, n = p.N;
        for (int g = Grid.IdxX; g < chunks; g += Grid.DimX)
        {
            int i0 = g * chunkRows, i1 = Math.Min(n, i0 + chunkRows);
            for (int o = Group.IdxX; o < outputs; o += Group.DimX)
            {
                int c = o / w, j = o - c * w;
                double s = 0;
                for (int i = i0; i < i1; i++)
                {
                    double f;
                    if (j == 0) f = 1;
                    else if (j <= d) f = x[i * d + j - 1];
                    else if (p.Type == (int)MixtureCovariance.Diagonal)
                    {
                        double v = x[i * d + j - 1 - d];
                        f = v * v;
                    }
                    else f = rowNorms[i];
                    s += resp[c * n + i] * f;
                }
                partial[g * outputs + o] = s;
            }
        }
    }

    /// <summary>stats[o] = sum over chunks g (in order) of partial[g, o], one thread per output.</summary>
    public static void SumChunks(ArrayView<double> partial, ArrayView<double> stats, int chunks, int outputs)
    {
        for (int o = Grid.GlobalIndex.X; o < outputs; o += Grid.DimX * Group.DimX)
        {
            double s = 0;
            for (int g = 0; g < chunks; g++) s += partial[g * outputs + o];
            stats[o] = s;
        }
    }

    /// <summary>
    /// From the statistics (one group): nk[k] = N_k + 10 eps and nk[K] = their sum; the weights N_k / sum N_k (or N_k / N
    /// when <paramref name="weightsOverRows"/> is 1); the means; and the diagonal types' covariances,
    /// E_r[x^2] - 2 mu^2 + mu^2 + reg (diagonal) and its mean over the dimensions (spherical), scikit-learn's expressions.
    /// </summary>
    public static void MeansAndWeights(ArrayView<double> stats, ArrayView<double> nk, ArrayView<double> weights, ArrayView<double> means,
        ArrayView<double> cov, int weightsOverRows, MixtureDims p)
    {
        int k = p.K, d = p.D, w = p.Width, t = Group.IdxX, g = Group.DimX;
        double nkSum = 0;
        for (int c = 0; c < k; c++) nkSum += stats[c * w] + EmptyGuard;
        double norm = weightsOverRows != 0 ? p.N : nkSum;
        for (int c = t; c < k; c += g)
        {
            double n = stats[c * w] + EmptyGuard;
            nk[c] = n;
            weights[c] = n / norm;
        }
        if (t == 0) nk[k] = nkSum;
        for (int e = t; e < k * d; e += g)
        {
            int c = e / d, j = e - c * d;
            double n = stats[c * w] + EmptyGuard;
            double mu = stats[c * w + 1 + j] / n;
            means[e] = mu;
            if (p.Type == (int)MixtureCovariance.Diagonal)
            {
                double avgX2 = stats[c * w + 1 + d + j] / n;
                cov[e] = avgX2 - 2 * (mu * mu) + mu * mu + p.Reg;
            }
        }
        if (p.Type == (int)MixtureCovariance.Spherical)
        {
            for (int c = t; c < k; c += g)
            {
                double n = stats[c * w] + EmptyGuard, mu2 = 0;
                for (int j = 0; j < d; j++)
                {
                    double mu = stats[c * w + 1 + j] / n;
                    mu2 += mu * mu;
                }
                double avgX2 = stats[c * w + 1 + d] / n;
                cov[c] = (avgX2 - 2 * mu2 + mu2) / d + p.Reg;
            }
        }
    }

    /// <summary>
    /// Full covariances, one block of rows: w[i, (k, j)] = r_ik (x_ij - mu_kj), the left factor of the one-sided scatter
    /// W^T X_b that the GEMM forms for all components at once (see CpuMixtureEStep.ScatterBlock for why one-sided).
    /// </summary>
    public static void WeightedDeviations(ArrayView<double> resp, ArrayView<double> x, ArrayView<double> means, ArrayView<double> w, int r0, int rows, MixtureDims p)
    {
        int kd = p.K * p.D, total = rows * kd;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int i = e / kd, q = e - i * kd, c = q / p.D, j = q - c * p.D;
            w[e] = (x[(r0 + i) * p.D + j] - means[q]) * resp[c * p.N + r0 + i];
        }
    }

    /// <summary>
    /// Full covariances from the scatter S = sum_b W_b^T X_b (K D x D) and the residuals e = sum_i W[i, :]:
    /// Sigma_k[j, l] = (S[(k, a), b] - e[k, a] mu[k, b]) / N_k with (a, b) = (max, min)(j, l), so the upper triangle
    /// mirrors the lower one, plus reg on the diagonal. One thread per element.
    /// </summary>
    public static void FullCovariances(ArrayView<double> scatter, ArrayView<double> residual, ArrayView<double> means, ArrayView<double> nk,
        ArrayView<double> cov, MixtureDims p)
    {
        int d = p.D, dd = d * d, total = p.K * dd;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int c = e / dd, r = e - c * dd, j = r / d, l = r - j * d;
            int a = j >= l ? j : l, b = j >= l ? l : j;
            double v = (scatter[(c * d + a) * d + b] - residual[c * d + a] * means[c * d + b]) / nk[c];
            cov[e] = j == l ? v + p.Reg : v;
        }
    }

    /// <summary>
    /// The tied covariance (X^T X - sum_k N_k mu_k mu_k^T) / sum_k N_k + reg I, lower triangle mirrored; one thread per
    /// element, the sum over k in order.
    /// </summary>
    public static void TiedCovariance(ArrayView<double> xtx, ArrayView<double> means, ArrayView<double> nk, ArrayView<double> cov, MixtureDims p)
    {
        int d = p.D;
        for (int e = Grid.GlobalIndex.X; e < d * d; e += Grid.DimX * Group.DimX)
        {
            int j = e / d, l = e - j * d;
            int a = j >= l ? j : l, b = j >= l ? l : j;
            double v = xtx[a * d + b];
            for (int c = 0; c < p.K; c++) v -= means[c * d + a] * nk[c] * means[c * d + b];
            v /= nk[p.K];
            cov[e] = j == l ? v + p.Reg : v;
        }
    }

    /// <summary>
    /// A group per D x D covariance f: its Cholesky factor L (right-looking, column by column, in
    /// <paramref name="work"/>), then the precision factor C = (L^-1)^T by forward substitution, one thread per column
    /// of L^-1 (row of C). failures[f] = the column whose pivot is not positive (C is then left as it was), else -1.
    /// </summary>
    public static void CholeskyPrecisions(ArrayView<double> cov, ArrayView<double> work, ArrayView<double> precChol, ArrayView<int> failures, MixtureDims p)
    {
        int d = p.D, dd = d * d, t = Group.IdxX, g = Group.DimX;
        for (int f = Grid.IdxX; f < p.Matrices; f += Grid.DimX)
        {
            int b = f * dd;
            for (int e = t; e < dd; e += g) work[b + e] = cov[b + e];
            int bad = -1;
            for (int j = 0; j < d; j++)
            {
                Group.Barrier();
                double pivot = work[b + j * d + j];
                Group.Barrier();
                // Every thread read the same pivot, so the whole group leaves together. !(pivot > 0) also catches NaN.
                if (!(pivot > 0))
                {
                    bad = j;
                    break;
                }
                double ljj = Math.Sqrt(pivot);
                if (t == 0) work[b + j * d + j] = ljj;
                for (int i = j + 1 + t; i < d; i += g) work[b + i * d + j] /= ljj;
                Group.Barrier();
                // Trailing update of the lower triangle: A[i, l] -= L[i, j] L[l, j] for j < l <= i.
                int m = d - j - 1;
                for (int e = t; e < m * m; e += g)
                {
                    int i = j + 1 + e / m, l = j + 1 + e % m;
                    if (l <= i) work[b + i * d + l] -= work[b + i * d + j] * work[b + l * d + j];
                }
            }
            Group.Barrier();
            if (t == 0) failures[f] = bad;
            if (bad < 0)
            {
                // Column c of L^-1 solves L y = e_c: y_r = (delta_rc - sum_{c <= m < r} L[r, m] y_m) / L[r, r]; it is row c of C.
                for (int c = t; c < d; c += g)
                {
                    for (int r = 0; r < d; r++)
                    {
                        double y = 0;
                        if (r >= c)
                        {
                            double s = r == c ? 1 : 0;
                            for (int m = c; m < r; m++) s -= work[b + r * d + m] * precChol[b + c * d + m];
                            y = s / work[b + r * d + r];
                        }
                        precChol[b + c * d + r] = y;
                    }
                }
            }
            Group.Barrier();
        }
    }

    /// <summary>Diagonal types: precChol = 1 / sqrt(variance); failures[i] = 0 for a variance that is not positive and finite, else -1.</summary>
    public static void VariancePrecisions(ArrayView<double> cov, ArrayView<double> precChol, ArrayView<int> failures, int count)
    {
        for (int i = Grid.GlobalIndex.X; i < count; i += Grid.DimX * Group.DimX)
        {
            double v = cov[i];
            bool ok = v > 0 && v != double.PositiveInfinity;
            failures[i] = ok ? -1 : 0;
            if (ok) precChol[i] = 1.0 / Math.Sqrt(v);
        }
    }

    /// <summary>
    /// One thread: the first failure in the CPU's order goes to status[1] = index + 1 (matrix, or element of the
    /// variances) and status[2] = the failing column (matrices) or the variance itself; status[1] = 0 when none.
    /// </summary>
    public static void Status(ArrayView<int> failures, ArrayView<double> cov, ArrayView<double> status, int count, MixtureDims p)
    {
        if (Grid.GlobalIndex.X != 0) return;
        status[1] = 0;
        for (int i = 0; i < count; i++)
        {
            int bad = failures[i];
            if (bad >= 0)
            {
                status[1] = i + 1;
                status[2] = p.Matrices > 0 ? bad : cov[i];
                return;
            }
        }
    }
}
