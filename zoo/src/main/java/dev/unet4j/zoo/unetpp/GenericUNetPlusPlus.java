package dev.unet4j.zoo.unetpp;

import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.checkpoint.ConfigException;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.UnsupportedConfigException;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.ZooModel;
import dev.unet4j.zoo.ZooSession;
import dev.unet4j.zoo.nn.Act;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.LayerNode;
import dev.unet4j.zoo.nn.Norm;
import dev.unet4j.zoo.nn.Tensors;
import dev.unet4j.zoo.nn.ZConv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * nnU-Net's UNet++ ({@code Generic_UNetPlusPlus}). Node {@code x_i_0} is encoder stage {@code conv_blocks_context.i}
 * (stride-{@code pool[i-1]} first convolution: {@code convolutional_pooling}); node {@code x_i_j} (j >= 1) is
 * {@code loc(P-i-j).(j-1)} applied to {@code cat([x_i_0 ... x_i_{j-1}, up(P-i-j).(j-1)(x_{i+1}_{j-1})], 1)} with a
 * transposed convolution {@code up} (kernel = stride = {@code pool[i]}), P = {@code num_pool}. Head
 * {@code seg_outputs.k} (1x1, no bias) reads {@code x_0_(P-k)}; a call returns {@code output.0} (the full UNet++,
 * {@code x_0_P}) ... {@code output.(P-1)} ({@code x_0_1}), as the official forward's deep-supervision tuple.
 *
 * <p>Pruning (the paper's L1..L4): {@link #forward(ZooSession, Tensor, int) forward(s, x, depth)} computes only the
 * nodes with {@code i + j <= depth}, column by column as the official forward does, and returns the heads on
 * {@code x_0_1 ... x_0_depth}; the same weights, no other node computed. The official forward is written for
 * {@code num_pool} 5; other depths follow the same rule.
 */
public final class GenericUNetPlusPlus extends ZooModel<GenericUNetPlusPlus.Config> {
    public static final String CLASS_NAME = "Generic_UNetPlusPlus";

    /**
     * The official constructor arguments that change the inference graph (dropout, initialisation and the
     * training-only settings are read as no-ops).
     *
     * @param inputChannels          {@code input_channels}
     * @param baseNumFeatures        {@code base_num_features}
     * @param numClasses             {@code num_classes}
     * @param numPool                {@code num_pool}
     * @param numConvPerStage        {@code num_conv_per_stage} (default 2)
     * @param featMapMulOnDownscale  {@code feat_map_mul_on_downscale} (default 2)
     * @param spatialDims            2 ({@code torch.nn.Conv2d}, the default) or 3 ({@code torch.nn.Conv3d})
     * @param normKind               {@code norm_op}: InstanceNorm or BatchNorm (default BatchNorm, eval mode)
     * @param normEps                {@code norm_op_kwargs.eps} (default 1e-5)
     * @param normAffine             {@code norm_op_kwargs.affine} (default True)
     * @param nonlin                 {@code nonlin} / {@code nonlin_kwargs}: LeakyReLU (default slope 0.01) or ReLU
     * @param nonlinBeforeNorm       {@code basic_block} is {@code ConvDropoutNonlinNorm}
     * @param deepSupervision        {@code deep_supervision} (default True)
     * @param finalSoftmax           {@code final_nonlin} is nnU-Net's {@code softmax_helper} (the default) rather than identity
     * @param poolOpKernelSizes      {@code pool_op_kernel_sizes} (default 2 per axis per pool)
     * @param convKernelSizes        {@code conv_kernel_sizes} (default 3 per axis per stage)
     * @param maxNumFeatures         {@code max_num_features} (default 480 for 2-D, 320 for 3-D)
     * @param segOutputUseBias       {@code seg_output_use_bias} (default False)
     */
    public record Config(int inputChannels, int baseNumFeatures, int numClasses, int numPool, int numConvPerStage,
                         double featMapMulOnDownscale, int spatialDims, Norm.Kind normKind, double normEps, boolean normAffine,
                         Act nonlin, boolean nonlinBeforeNorm, boolean deepSupervision, boolean finalSoftmax,
                         int[][] poolOpKernelSizes, int[][] convKernelSizes, int maxNumFeatures, boolean segOutputUseBias) {

        public static Config from(DiffusersConfig c) {
            String src = c.source();
            int inputChannels = c.getInt("input_channels", -1), base = c.getInt("base_num_features", -1);
            int classes = c.getInt("num_classes", -1), numPool = c.getInt("num_pool", -1);
            for (String k : List.of("input_channels", "base_num_features", "num_classes", "num_pool")) {
                if (c.getInt(k, -1) <= 0) throw new ConfigException(src + ": " + k + " must be a positive integer (it has no default)");
            }
            String convOp = c.getString("conv_op", "torch.nn.Conv2d");
            int dims = convOp.endsWith("Conv2d") ? 2 : convOp.endsWith("Conv3d") ? 3 : 0;
            if (dims == 0) throw new UnsupportedConfigException(src + ": conv_op " + convOp + " is not torch.nn.Conv2d or torch.nn.Conv3d");
            String normOp = c.getString("norm_op", "torch.nn.BatchNorm" + dims + "d");
            Norm.Kind kind = normOp.endsWith("InstanceNorm" + dims + "d") ? Norm.Kind.INSTANCE : normOp.endsWith("BatchNorm" + dims + "d") ? Norm.Kind.BATCH : null;
            if (kind == null) throw new UnsupportedConfigException(src + ": norm_op " + normOp + " is not InstanceNorm" + dims + "d or BatchNorm" + dims + "d");
            DiffusersConfig nk = c.getSectionOrNull("norm_op_kwargs");
            double eps = 1e-5;
            boolean affine = true; // nnU-Net's default kwargs {'eps': 1e-5, 'affine': True}
            if (nk != null) {
                eps = nk.getDouble("eps", 1e-5);
                affine = nk.getBoolean("affine", kind == Norm.Kind.BATCH); // torch's class default
                boolean track = nk.getBoolean("track_running_stats", kind == Norm.Kind.BATCH);
                if (track != (kind == Norm.Kind.BATCH)) {
                    throw new UnsupportedConfigException(src + ": norm_op_kwargs.track_running_stats " + track + " with " + normOp
                            + " (eval mode needs running statistics for BatchNorm and none for InstanceNorm)");
                }
            }
            String nl = c.getString("nonlin", "torch.nn.LeakyReLU");
            DiffusersConfig nlk = c.getSectionOrNull("nonlin_kwargs");
            Act act;
            if (nl.endsWith("LeakyReLU")) {
                act = Act.leakyRelu(nlk != null ? nlk.getDouble("negative_slope", 1e-2) : 1e-2);
            } else if (nl.endsWith("ReLU")) {
                act = Act.RELU;
            } else {
                throw new UnsupportedConfigException(src + ": nonlin " + nl + " is not torch.nn.LeakyReLU or torch.nn.ReLU");
            }
            String block = c.getString("basic_block", "ConvDropoutNormNonlin");
            boolean nonlinFirst = block.endsWith("ConvDropoutNonlinNorm");
            if (!nonlinFirst && !block.endsWith("ConvDropoutNormNonlin")) {
                throw new UnsupportedConfigException(src + ": basic_block " + block + " is not ConvDropoutNormNonlin or ConvDropoutNonlinNorm");
            }
            String fn = c.getString("final_nonlin", "nnunet.utilities.nd_softmax.softmax_helper");
            boolean softmax = fn.endsWith("softmax_helper");
            if (!softmax && !fn.replace(" ", "").equals("lambdax:x")) {
                throw new UnsupportedConfigException(src + ": final_nonlin " + fn + " is not \"lambda x: x\" or softmax_helper");
            }
            if (!c.getBoolean("convolutional_pooling", false) || !c.getBoolean("convolutional_upsampling", false)) {
                throw new UnsupportedConfigException(src + ": the official Generic_UNetPlusPlus forward needs convolutional_pooling and "
                        + "convolutional_upsampling both true (it reaches lower resolutions only through strided convolutions)");
            }
            if (c.getBoolean("upscale_logits", false)) throw new UnsupportedConfigException(src + ": upscale_logits true is not supported (every head is already full resolution)");
            int[][] pools = sizes(c, "pool_op_kernel_sizes", numPool, dims, 2);
            int[][] kernels = sizes(c, "conv_kernel_sizes", numPool + 1, dims, 3);
            int max = c.isNull("max_num_features") ? (dims == 3 ? 320 : 480) : c.getInt("max_num_features", dims == 3 ? 320 : 480);
            return new Config(inputChannels, base, classes, numPool, c.getInt("num_conv_per_stage", 2), c.getDouble("feat_map_mul_on_downscale", 2),
                    dims, kind, eps, affine, act, nonlinFirst, c.getBoolean("deep_supervision", true), softmax, pools, kernels, max,
                    c.getBoolean("seg_output_use_bias", false));
        }

        private static int[][] sizes(DiffusersConfig c, String key, int count, int dims, int fallback) {
            int[][] out = new int[count][dims];
            if (!c.has(key) || c.isNull(key)) {
                for (int[] row : out) Arrays.fill(row, fallback);
                return out;
            }
            String expected = count + " lists of " + dims + " positive sizes";
            List<List<Integer>> rows = c.getNestedIntPerBlockOrNull(key, fallback, count);
            for (int i = 0; i < count; i++) {
                List<Integer> row = rows.get(i);
                if (row.size() != dims || row.stream().anyMatch(v -> v <= 0)) throw c.invalid(key, expected);
                for (int d = 0; d < dims; d++) out[i][d] = row.get(d);
            }
            return out;
        }
    }

    private final StageNode[][] x;  // x[i][j]: node x_i_j (null where i + j > num_pool)
    private final LayerNode[][] up; // up[i][j]: transposed conv feeding x_i_j from x_{i+1}_{j-1}
    private final LayerNode[] heads; // heads[k] = seg_outputs.k on x_0_(P-k)
    private final List<Node> order = new ArrayList<>();

    private GenericUNetPlusPlus(Config config, Build b, StageNode[][] x, LayerNode[][] up, LayerNode[] heads) {
        super(CLASS_NAME, config, 2 + config.spatialDims(), config.inputChannels(), b);
        this.x = x;
        this.up = up;
        this.heads = heads;
        int pools = config.numPool();
        for (int k = 0; k <= pools; k++) { // the official call order: column k after the encoder stage k
            order.add(x[k][0]);
            for (int j = 1; j <= k; j++) {
                order.add(up[k - j][j]);
                order.add(x[k - j][j]);
            }
            if (k >= 1) order.add(heads[pools - k]);
        }
    }

    public static GenericUNetPlusPlus build(Config c, ParameterSource src, String sourceName, LoadOptions options) {
        return Build.building(src, sourceName, options, b -> {
            int pools = c.numPool(), dims = c.spatialDims();
            VarBuilder root = b.root();
            int[] features = new int[pools + 1];
            StageNode[][] x = new StageNode[pools + 1][pools + 1];
            LayerNode[][] up = new LayerNode[pools + 1][pools + 1];
            int in = c.inputChannels(), out = c.baseNumFeatures();
            for (int d = 0; d < pools; d++) {
                VarBuilder vb = root.pp("conv_blocks_context").pp(d);
                x[d][0] = new StageNode(vb.path(), NodeKind.DOWN_BLOCK, d, 0,
                        List.of(new StackedConvLayers(b, vb, c, in, out, c.numConvPerStage(), c.convKernelSizes()[d], d == 0 ? null : c.poolOpKernelSizes()[d - 1])));
                features[d] = out;
                in = out;
                out = Math.min((int) Math.rint(out * c.featMapMulOnDownscale()), c.maxNumFeatures());
            }
            VarBuilder bottleneck = root.pp("conv_blocks_context").pp(pools);
            int[] k = c.convKernelSizes()[pools];
            x[pools][0] = new StageNode(bottleneck.path(), NodeKind.MID_BLOCK, pools, 0, List.of(
                    new StackedConvLayers(b, bottleneck.pp(0), c, in, out, c.numConvPerStage() - 1, k, c.poolOpKernelSizes()[pools - 1]),
                    new StackedConvLayers(b, bottleneck.pp(1), c, out, out, 1, k, null)));
            features[pools] = out;
            for (int z = 0; z < pools; z++) {
                for (int u = z; u < pools; u++) {
                    int i = pools - 1 - u, j = u - z + 1, skip = features[i], down = j == 1 ? features[i + 1] : features[i + 1];
                    int[] pk = c.poolOpKernelSizes()[i];
                    VarBuilder upVb = root.pp("up" + z).pp(u - z);
                    ZConv t = ZConv.at(b, upVb, new ConvSpec(down, skip, pk, pk, new int[dims], 1, true), false);
                    up[i][j] = new LayerNode(upVb.path(), NodeLevel.LAYER, NodeKind.UPSAMPLER, t::forward);
                    VarBuilder loc = root.pp("loc" + z).pp(u - z);
                    int[] lk = c.convKernelSizes()[i];
                    x[i][j] = new StageNode(loc.path(), NodeKind.UP_BLOCK, i, j, List.of(
                            new StackedConvLayers(b, loc.pp(0), c, skip * (j + 1), skip, c.numConvPerStage() - 1, lk, null),
                            new StackedConvLayers(b, loc.pp(1), c, skip, skip, 1, lk, null)));
                }
            }
            LayerNode[] heads = new LayerNode[pools];
            int[] one = new int[dims], zero = new int[dims];
            Arrays.fill(one, 1);
            for (int h = 0; h < pools; h++) {
                VarBuilder vb = root.pp("seg_outputs").pp(h);
                ZConv conv = ZConv.at(b, vb, new ConvSpec(features[0], c.numClasses(), one, one, zero, 1, false), c.segOutputUseBias());
                heads[h] = new LayerNode(vb.path(), NodeLevel.STEM, NodeKind.CONV_OUT, conv::forward);
            }
            return new GenericUNetPlusPlus(c, b, x, up, heads);
        });
    }

    @Override
    public List<String> outputNames() {
        if (!config().deepSupervision()) return List.of("output");
        List<String> names = new ArrayList<>();
        for (int k = 0; k < config().numPool(); k++) names.add("output." + k);
        return names;
    }

    @Override
    public List<Node> nodes() {
        return List.copyOf(order);
    }

    /** Module path of node {@code x_i_j} ({@code conv_blocks_context.i} or {@code locZ.K}). */
    public String nodePath(int i, int j) {
        if (i < 0 || j < 0 || i + j > config().numPool()) throw new IllegalArgumentException("no node x_" + i + "_" + j + " with num_pool " + config().numPool());
        return x[i][j].path();
    }

    /** Output name of the head on {@code x_0_level} (level 1..num_pool). */
    public String headName(int level) {
        return "output." + (config().numPool() - level);
    }

    @Override
    protected Map<String, Tensor> run(Pass p, Tensor in) {
        Map<String, Tensor> heads = run(p, in, config().numPool());
        if (config().deepSupervision()) return heads;
        Map<String, Tensor> single = new LinkedHashMap<>();
        String full = headName(config().numPool());
        single.put("output", heads.remove(full));
        heads.values().forEach(Tensor::close);
        return single;
    }

    /**
     * The pruned UNet++ L_{@code depth} (1..num_pool): only nodes {@code x_i_j} with {@code i + j <= depth}, and the heads
     * on {@code x_0_1 ... x_0_depth}, named as in the full call ({@code output.(P-j)} for {@code x_0_j}); the last one
     * ({@code output.(P-depth)}) is L_depth's prediction.
     */
    public Map<String, Tensor> forward(ZooSession session, Tensor in, int depth) {
        if (session.model() != this) throw new IllegalArgumentException("session belongs to another model");
        if (depth < 1 || depth > config().numPool()) throw new IllegalArgumentException("UNet++ depth " + depth + " outside 1.." + config().numPool());
        validate(in);
        checkDivisible(in);
        return session.run(p -> run(p, in, depth));
    }

    private void checkDivisible(Tensor in) {
        for (int d = 0; d < config().spatialDims(); d++) {
            long f = 1;
            for (int[] pk : config().poolOpKernelSizes()) f *= pk[d];
            if (in.dim(2 + d) % f != 0) {
                throw new IllegalArgumentException(CLASS_NAME + ": input x " + Arrays.toString(in.shape()) + ": spatial dimension " + d
                        + " must be divisible by " + f + " (the product of pool_op_kernel_sizes), so every nested skip lines up");
            }
        }
    }

    @Override
    protected void validate(Tensor in) {
        super.validate(in);
        checkDivisible(in);
    }

    private Map<String, Tensor> run(Pass p, Tensor in, int depth) {
        int pools = config().numPool();
        Tensor[][] v = new Tensor[pools + 1][pools + 1];
        Map<String, Tensor> out = new LinkedHashMap<>();
        boolean ok = false;
        try {
            for (int k = 0; k <= depth; k++) {
                v[k][0] = x[k][0].apply(p, k == 0 ? in : v[k - 1][0]);
                for (int j = 1; j <= k; j++) {
                    int i = k - j;
                    List<Tensor> parts = new ArrayList<>();
                    for (int s = 0; s < j; s++) parts.add(v[i][s]);
                    Tensor u = up[i][j].apply(p, v[i + 1][j - 1]);
                    parts.add(u);
                    Tensor cat;
                    try {
                        cat = Tensors.concat(p, parts);
                    } finally {
                        p.release(u);
                    }
                    try {
                        v[i][j] = x[i][j].apply(p, cat);
                    } finally {
                        cat.close();
                    }
                }
                if (k >= 1) {
                    Tensor logits = heads[pools - k].apply(p, v[0][k]);
                    out.put(headName(k), config().finalSoftmax() ? Tensors.swap(p, logits, Tensors.softmaxChannels(p, logits)) : logits);
                }
            }
            // the official tuple order: output.0 (deepest) first
            Map<String, Tensor> ordered = new LinkedHashMap<>();
            for (int k = depth; k >= 1; k--) ordered.put(headName(k), out.get(headName(k)));
            ok = true;
            return ordered;
        } finally {
            for (Tensor[] row : v) for (Tensor t : row) p.release(t);
            if (!ok) out.values().forEach(p::release);
        }
    }
}
