package dev.unet4j.zoo.mkunet;

import dev.unet4j.core.checkpoint.ConfigException;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.ZooModel;
import dev.unet4j.zoo.nn.Act;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.LayerNode;
import dev.unet4j.zoo.nn.Tensors;
import dev.unet4j.zoo.nn.ZConv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * MK-UNet ({@code MK_UNet}). Encoder: {@code encoder1..5}, each followed by {@code max_pool2d(2)} (the pooled maps are
 * the skips t1..t4). Decoder stage k: {@code out = CAk(out) * out; out = SA(out) * out;
 * out = relu(bilinear_x2(decoderk(out)))}, then (k &lt;= 4) {@code out = out + AGk(g=out, x=t_(5-k))}. Heads
 * {@code out1..out3} are the official forward's unused side outputs (computed so they can be captured; their
 * upsampling is skipped); {@code out4} gives {@code output} (logits). A 1-channel input is repeated to 3 channels.
 */
public final class MKUNet extends ZooModel<MKUNet.Config> {
    public static final String CLASS_NAME = "MK_UNet";
    private static final int[] CA_RATIOS = {16, 16, 16, 8, 4};

    /**
     * The official constructor arguments.
     *
     * @param numClasses      {@code num_classes} (default 1)
     * @param inChannels      {@code in_channels} (default 3)
     * @param channels        {@code channels}, five widths (default MK-UNet's [16, 32, 64, 96, 160])
     * @param depths          {@code depths}, blocks per encoder (default [1, 1, 1, 1, 1])
     * @param kernelSizes     {@code kernel_sizes} of the depth-wise branches (default [1, 3, 5])
     * @param expansionFactor {@code expansion_factor} (default 2)
     * @param gagKernel       {@code gag_kernel} (default 3)
     */
    public record Config(int numClasses, int inChannels, int[] channels, int[] depths, int[] kernelSizes, double expansionFactor, int gagKernel) {
        public static Config from(DiffusersConfig c) {
            int[] ch = ints(c, "channels", List.of(16, 32, 64, 96, 160), 5);
            int[] depths = ints(c, "depths", List.of(1, 1, 1, 1, 1), 5);
            int[] ks = ints(c, "kernel_sizes", List.of(1, 3, 5), -1);
            Config cfg = new Config(c.getInt("num_classes", 1), c.getInt("in_channels", 3), ch, depths, ks,
                    c.getDouble("expansion_factor", 2), c.getInt("gag_kernel", 3));
            for (int k : ks) {
                if (k <= 0 || k % 2 == 0) throw new ConfigException(c.source() + ": kernel_sizes " + Arrays.toString(ks) + " must be odd and positive");
            }
            if (ks.length == 0 || cfg.numClasses <= 0 || cfg.inChannels <= 0 || cfg.expansionFactor <= 0 || cfg.gagKernel <= 0 || cfg.gagKernel % 2 == 0) {
                throw new ConfigException(c.source() + ": num_classes, in_channels, expansion_factor, gag_kernel (odd) must be positive: " + cfg);
            }
            for (int i = 0; i < 5; i++) {
                if (ch[i] <= 0 || depths[i] <= 0) throw new ConfigException(c.source() + ": channels and depths must be positive: " + Arrays.toString(ch) + ", " + Arrays.toString(depths));
            }
            for (int i = 0; i < 4; i++) {
                if (ch[i] < 2 || ch[i] % 2 != 0) throw new ConfigException(c.source() + ": channels[" + i + "] = " + ch[i] + " must be even (its attention gate has channels/2 groups)");
            }
            return cfg;
        }

        private static int[] ints(DiffusersConfig c, String key, List<Integer> fallback, int length) {
            List<Integer> v = c.getIntList(key, fallback);
            if (length > 0 && v.size() != length) throw new ConfigException(c.source() + ": " + key + " must have " + length + " entries, got " + v);
            return v.stream().mapToInt(Integer::intValue).toArray();
        }

        @Override
        public String toString() {
            return "Config[num_classes=" + numClasses + ", in_channels=" + inChannels + ", channels=" + Arrays.toString(channels) + ", depths="
                    + Arrays.toString(depths) + ", kernel_sizes=" + Arrays.toString(kernelSizes) + ", expansion_factor=" + expansionFactor
                    + ", gag_kernel=" + gagKernel + "]";
        }
    }

    private final BlockStack[] encoders = new BlockStack[5], decoders = new BlockStack[5];
    private final GroupedAttentionGate[] gates = new GroupedAttentionGate[4];
    private final ChannelAttention[] ca = new ChannelAttention[5];
    private final SpatialAttention sa;
    private final Node[] heads = new Node[4];

    private MKUNet(Config config, Build b, BlockStack[] enc, BlockStack[] dec, GroupedAttentionGate[] ag, ChannelAttention[] ca,
                   SpatialAttention sa, Node[] heads) {
        super(CLASS_NAME, config, 4, config.inChannels(), b);
        System.arraycopy(enc, 0, encoders, 0, 5);
        System.arraycopy(dec, 0, decoders, 0, 5);
        System.arraycopy(ag, 0, gates, 0, 4);
        System.arraycopy(ca, 0, this.ca, 0, 5);
        this.sa = sa;
        System.arraycopy(heads, 0, this.heads, 0, 4);
    }

    public static MKUNet build(Config c, ParameterSource src, String sourceName, LoadOptions options) {
        return Build.building(src, sourceName, options, b -> {
            VarBuilder root = b.root();
            int[] ch = c.channels();
            BlockStack[] enc = new BlockStack[5], dec = new BlockStack[5];
            for (int i = 0; i < 5; i++) {
                enc[i] = new BlockStack(b, root.pp("encoder" + (i + 1)), NodeKind.DOWN_BLOCK, i == 0 ? c.inChannels() : ch[i - 1], ch[i], c.depths()[i], c);
            }
            GroupedAttentionGate[] ag = new GroupedAttentionGate[4];
            for (int k = 0; k < 4; k++) ag[k] = new GroupedAttentionGate(b, root.pp("AG" + (k + 1)), ch[3 - k], c.gagKernel());
            int[][] decIo = {{ch[4], ch[3]}, {ch[3], ch[2]}, {ch[2], ch[1]}, {ch[1], ch[0]}, {ch[0], ch[0]}};
            for (int k = 0; k < 5; k++) dec[k] = new BlockStack(b, root.pp("decoder" + (k + 1)), NodeKind.UP_BLOCK, decIo[k][0], decIo[k][1], 1, c);
            ChannelAttention[] ca = new ChannelAttention[5];
            for (int k = 0; k < 5; k++) ca[k] = new ChannelAttention(b, root.pp("CA" + (k + 1)), ch[4 - k], CA_RATIOS[k]);
            SpatialAttention sa = new SpatialAttention(b, root.pp("SA"), 7);
            int[] headIn = {ch[2], ch[1], ch[0], ch[0]};
            Node[] heads = new Node[4];
            for (int h = 0; h < 4; h++) {
                VarBuilder vb = root.pp("out" + (h + 1));
                ZConv conv = ZConv.at(b, vb, ConvBn.spec(headIn[h], c.numClasses(), 1, 1), true);
                heads[h] = new LayerNode(vb.path(), NodeLevel.STEM, NodeKind.CONV_OUT, conv::forward);
            }
            return new MKUNet(c, b, enc, dec, ag, ca, sa, heads);
        });
    }

    @Override
    public List<Node> nodes() {
        List<Node> all = new ArrayList<>(Arrays.asList(encoders));
        for (int k = 0; k < 5; k++) {
            all.add(ca[k]);
            if (k == 0) all.add(sa);
            all.add(decoders[k]);
            if (k >= 1) all.add(heads[Math.min(k - 1, 3)]);
            if (k < 4) all.add(gates[k]);
        }
        return all;
    }

    @Override
    protected void validate(Tensor x) {
        if (x != null && x.rank() == 4 && x.dim(1) == 1 && config().inChannels() == 3) {
            // the official forward repeats a 1-channel input to 3 channels
        } else {
            super.validate(x);
        }
        if (x.dim(2) % 32 != 0 || x.dim(3) % 32 != 0) {
            throw new IllegalArgumentException(CLASS_NAME + ": input x " + Arrays.toString(x.shape()) + ": H and W must be divisible by 32 (five 2x2 max-pools)");
        }
    }

    @Override
    protected Map<String, Tensor> run(Pass p, Tensor x) {
        Tensor in = x.dim(1) == 1 ? Tensors.concat(p, List.of(x, x, x)) : null; // x.repeat(1, 3, 1, 1)
        Tensor[] skips = new Tensor[4];
        Tensor out = null;
        int[] two = {2, 2};
        try {
            for (int i = 0; i < 5; i++) {
                Tensor e = encoders[i].apply(p, i == 0 ? (in != null ? in : x) : out);
                Tensor pooled;
                try {
                    pooled = p.k.pool(p.ws, e, true, two, two); // F.max_pool2d(., 2, 2)
                } finally {
                    p.release(e);
                }
                if (i < 4) skips[i] = pooled; // t1..t4: the pooled maps, also the next encoder's input
                out = pooled;
            }
            for (int k = 0; k < 5; k++) {
                Tensor w = ca[k].apply(p, out);
                out = Tensors.swap(p, out, mulAndRelease(p, out, w));
                Tensor s = sa.apply(p, out);
                p.captureIfRequested("SA.call" + k, s);
                out = Tensors.swap(p, out, mulAndRelease(p, out, s));
                Tensor d = decoders[k].apply(p, out);
                Tensor up;
                try {
                    up = p.k.resizeLinear(p.ws, d, 2 * d.dim(2), 2 * d.dim(3)); // bilinear x2, align_corners False
                } finally {
                    p.release(d);
                }
                out = Tensors.swap(p, out, Act.RELU.applyAndClose(p, up));
                if (k >= 1 && k <= 3) p.release(heads[k - 1].apply(p, out)); // out1..out3: side heads, not returned
                if (k < 4) {
                    Tensor t = skips[3 - k];
                    Tensor gated = gates[k].apply(p, out, t);
                    p.release(t);
                    skips[3 - k] = null;
                    Tensor sum;
                    try {
                        sum = p.k.add(p.ws, out, gated, 1f, 1f);
                    } finally {
                        p.release(gated);
                    }
                    out = Tensors.swap(p, out, sum);
                }
            }
            Tensor logits = heads[3].apply(p, out);
            return Map.of("output", logits);
        } finally {
            p.release(out);
            for (Tensor t : skips) if (t != null && t != out) p.release(t);
            if (in != null) in.close();
        }
    }

    /** {@code a * b} ({@code b} broadcast), releasing {@code b}. */
    private static Tensor mulAndRelease(Pass p, Tensor a, Tensor b) {
        try {
            return p.k.mul(p.ws, a, b);
        } finally {
            p.release(b);
        }
    }
}
