package dev.unet4j.zoo.ddos;

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
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.LayerNode;
import dev.unet4j.zoo.nn.ZConv;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The 3-D UNet of DDoS-UNet ({@code UNet} in {@code models/unet3D.py}): {@code down_path.i} blocks with
 * {@code avg_pool3d(2)} between them (floor for odd sizes), {@code up_path.i} blocks that up-sample, resize to their
 * skip and concatenate, and a 1x1x1 {@code last} conv. For DDoS the input is {@code [B, 2, D, H, W]}: channel 0 the
 * prior (the previous time point's super-resolved output), channel 1 the current low-resolution time point on the
 * target grid; {@link #superResolveSeries} runs the paper's step-wise prior.
 */
public final class DdosUNet3D extends ZooModel<DdosUNet3D.Config> {
    public static final String CLASS_NAME = "UNet";

    /**
     * The official constructor arguments.
     *
     * @param inChannels {@code in_channels} (default 1; DDoS: 2)
     * @param nClasses   {@code n_classes} (default 1)
     * @param depth      {@code depth} (default 3)
     * @param wf         {@code wf}: the first block has {@code 2^wf} features (default 6)
     * @param padding    {@code padding} (default True: the 3x3x3 convs keep the size)
     * @param batchNorm  {@code batch_norm} (default False; eval-mode BatchNorm3d after each ReLU)
     * @param upconv     {@code up_mode} is {@code 'upconv'} (the default) rather than {@code 'upsample'}
     */
    public record Config(int inChannels, int nClasses, int depth, int wf, boolean padding, boolean batchNorm, boolean upconv) {
        public static Config from(DiffusersConfig c) {
            String upMode = c.getString("up_mode", "upconv");
            if (!upMode.equals("upconv") && !upMode.equals("upsample")) {
                throw new ConfigException(c.source() + ": up_mode '" + upMode + "' is not 'upconv' or 'upsample'");
            }
            c.getBoolean("dropout", false); // Dropout3d: the identity at inference
            Config cfg = new Config(c.getInt("in_channels", 1), c.getInt("n_classes", 1), c.getInt("depth", 3), c.getInt("wf", 6),
                    c.getBoolean("padding", true), c.getBoolean("batch_norm", false), upMode.equals("upconv"));
            if (cfg.inChannels <= 0 || cfg.nClasses <= 0 || cfg.depth <= 0 || cfg.wf < 0 || cfg.wf + cfg.depth > 20) {
                throw new UnsupportedConfigException(c.source() + ": in_channels, n_classes, depth must be positive and wf + depth at most 20, got " + cfg);
            }
            return cfg;
        }
    }

    private final List<UNetConvBlock> down;
    private final List<UNetUpBlock> up;
    private final Node last;

    private DdosUNet3D(Config config, Build b, List<UNetConvBlock> down, List<UNetUpBlock> up, Node last) {
        super(CLASS_NAME, config, 5, config.inChannels(), b);
        this.down = down;
        this.up = up;
        this.last = last;
    }

    public static DdosUNet3D build(Config c, ParameterSource src, String sourceName, LoadOptions options) {
        return Build.building(src, sourceName, options, b -> {
            VarBuilder root = b.root();
            List<UNetConvBlock> down = new ArrayList<>();
            int prev = c.inChannels();
            for (int i = 0; i < c.depth(); i++) {
                down.add(new UNetConvBlock(b, root.pp("down_path").pp(i), NodeKind.DOWN_BLOCK, prev, 1 << (c.wf() + i), c.padding(), c.batchNorm()));
                prev = 1 << (c.wf() + i);
            }
            List<UNetUpBlock> up = new ArrayList<>();
            for (int i = c.depth() - 2, k = 0; i >= 0; i--, k++) {
                up.add(new UNetUpBlock(b, root.pp("up_path").pp(k), prev, 1 << (c.wf() + i), c.upconv(), c.padding(), c.batchNorm()));
                prev = 1 << (c.wf() + i);
            }
            VarBuilder lastVb = root.pp("last");
            ZConv head = ZConv.at(b, lastVb, ConvSpec.of(3, prev, c.nClasses(), 1, 1, 0), true);
            Node last = new LayerNode(lastVb.path(), NodeLevel.STEM, NodeKind.CONV_OUT, head::forward);
            return new DdosUNet3D(c, b, down, up, last);
        });
    }

    @Override
    public List<Node> nodes() {
        List<Node> all = new ArrayList<>(down);
        all.addAll(up);
        all.add(last);
        return all;
    }

    @Override
    protected void validate(Tensor x) {
        super.validate(x);
        for (int d = 2; d < 5; d++) {
            if (x.dim(d) < 1L << (config().depth() - 1)) {
                throw new IllegalArgumentException(CLASS_NAME + ": input x " + java.util.Arrays.toString(x.shape()) + " is smaller than "
                        + (1 << (config().depth() - 1)) + " voxels along dimension " + d + " (depth " + config().depth() + " pools by 2)");
            }
        }
    }

    @Override
    protected Map<String, Tensor> run(Pass p, Tensor x) {
        List<Tensor> blocks = new ArrayList<>();
        Tensor h = null;
        try {
            for (int i = 0; i < down.size(); i++) {
                Tensor y = down.get(i).apply(p, i == 0 ? x : h);
                if (i > 0) p.release(h);
                h = y;
                if (i != down.size() - 1) {
                    blocks.add(h);
                    h = p.k.pool(p.ws, h, false, new int[]{2, 2, 2}, new int[]{2, 2, 2}); // F.avg_pool3d(x, 2)
                }
            }
            for (int i = 0; i < up.size(); i++) {
                Tensor y = up.get(i).apply(p, h, blocks.get(blocks.size() - 1 - i));
                p.release(h);
                h = y;
            }
            Tensor out = last.apply(p, h);
            return Map.of("output", out);
        } finally {
            p.release(h);
            blocks.forEach(p::release);
        }
    }

    /**
     * DDoS's step-wise prior: time point t is super-resolved from {@code cat([prior, current_t], 1)} where the prior is
     * {@code initialPrior} for the first time point and the previous output after that (apply_DDoS.py feeds
     * {@code SRPrev}). {@code current} are the low-resolution volumes on the target grid, each {@code [B, 1, D, H, W]}.
     * Needs {@code in_channels} 2 and {@code n_classes} 1; the outputs ({@code [B, 1, D, H, W]} each) are owned by the caller.
     */
    public List<Tensor> superResolveSeries(ZooSession s, Tensor initialPrior, List<Tensor> current) {
        if (config().inChannels() != 2 || config().nClasses() != 1) {
            throw new IllegalStateException("the step-wise prior needs in_channels 2 (prior, current) and n_classes 1, this model has "
                    + config().inChannels() + " and " + config().nClasses());
        }
        List<Tensor> outputs = new ArrayList<>();
        Tensor prior = initialPrior;
        try {
            for (int t = 0; t < current.size(); t++) {
                Tensor cur = current.get(t);
                if (cur.rank() != 5 || cur.dim(1) != 1 || prior.rank() != 5 || prior.dim(1) != 1 || cur.dim(0) != prior.dim(0)
                        || cur.dim(2) != prior.dim(2) || cur.dim(3) != prior.dim(3) || cur.dim(4) != prior.dim(4)) {
                    throw new IllegalArgumentException("time point " + t + ": current " + cur + " and prior " + prior + " must both be [B, 1, D, H, W] of one grid");
                }
                Tensor in = kernels().concat(s.workspace(), prior, cur); // [B, 2, D, H, W]: channel 0 prior, 1 current
                Map<String, Tensor> out;
                try {
                    out = s.forward(in);
                } finally {
                    in.close();
                }
                outputs.add(out.get("output"));
                prior = out.get("output");
            }
            return outputs;
        } catch (RuntimeException e) {
            outputs.forEach(Tensor::close);
            throw e;
        }
    }
}
