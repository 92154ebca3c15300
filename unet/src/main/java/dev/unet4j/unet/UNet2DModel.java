package dev.unet4j.unet;

import dev.unet4j.unet.config.UNet2DConfig;
import dev.unet4j.unet.nn.Activation;
import dev.unet4j.unet.nn.BlockSpec;
import dev.unet4j.unet.nn.ClassEmbedding;
import dev.unet4j.unet.nn.GraphSpec;
import dev.unet4j.unet.nn.LayerAttention;
import dev.unet4j.unet.nn.ResnetDefaults;
import dev.unet4j.unet.nn.TimeProjection;
import dev.unet4j.unet.nn.UNetGraph;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers {@code UNet2DModel} (unconditional / class-conditional DDPM-style UNet). {@code attention_head_dim} is
 * the channels per head; every norm uses {@code norm_eps}; a Python float timestep is truncated.
 */
public final class UNet2DModel extends UNetModel {
    private final UNet2DConfig config;

    private UNet2DModel(UNet2DConfig config, UNetGraph graph, LoadOptions options) {
        super(graph, options.kernels());
        this.config = config;
    }

    /** Builds the model from a config and a parameter source (a checkpoint, or generated weights). */
    public static UNet2DModel build(UNet2DConfig config, ParameterSource source, String sourceName, LoadOptions options) {
        return new UNet2DModel(config, UNetGraph.build(spec(config), source, sourceName, options.factory()), options);
    }

    @Override
    public UNet2DConfig config() {
        return config;
    }

    /** How diffusers' constructor resolves the config into blocks. */
    static GraphSpec spec(UNet2DConfig c) {
        int[] boc = c.blockOutChannels();
        int n = boc.length;
        int temb = boc[0] * 4;
        Activation act = Activation.of(c.actFn());
        boolean fourier = c.timeEmbeddingType().equals("fourier");
        // GaussianFourierProjection(embedding_size=block_out_channels[0], scale=16): log=True, flip_sin_to_cos=False
        TimeProjection.Spec tp = fourier ? new TimeProjection.Spec(true, boc[0], false, 0, true)
                : new TimeProjection.Spec(false, boc[0], c.flipSinToCos(), c.freqShift(), false);
        ClassEmbedding.Spec ce = null;
        if (c.classEmbedType() == null && c.numClassEmbeds() != null) ce = new ClassEmbedding.Spec(ClassEmbedding.Type.TABLE, c.numClassEmbeds(), Activation.SILU);
        else if ("timestep".equals(c.classEmbedType())) ce = new ClassEmbedding.Spec(ClassEmbedding.Type.TIMESTEP, 0, Activation.SILU);
        else if ("identity".equals(c.classEmbedType())) ce = new ClassEmbedding.Spec(ClassEmbedding.Type.IDENTITY, 0, Activation.SILU);
        boolean scaleShift = c.resnetTimeScaleShift().equals("scale_shift");
        ResnetDefaults r = new ResnetDefaults(temb, c.normNumGroups(), c.normEps(), act, scaleShift);

        List<BlockSpec> down = new ArrayList<>();
        int out = boc[0];
        for (int i = 0; i < n; i++) {
            int in = out;
            out = boc[i];
            boolean attn = c.downBlockTypes().get(i).equals("AttnDownBlock2D");
            LayerAttention a = attn ? spatial(c, out, 1.0) : new LayerAttention.None();
            down.add(new BlockSpec(c.downBlockTypes().get(i), c.layersPerBlock(), in, out, 0, i < n - 1, a,
                    attn && c.downsampleType().equals("resnet"), c.downsamplePadding()));
        }
        // UNetMidBlock2D: attn_groups = attn_norm_num_groups, else resnet_groups for "default", else no norm
        int midGroups = c.attnNormNumGroups() != null ? c.attnNormNumGroups() : scaleShift ? 0 : c.normNumGroups();
        int midHeadDim = c.attentionHeadDim() != null ? c.attentionHeadDim() : boc[n - 1];
        LayerAttention midAttn = c.addAttention()
                ? new LayerAttention.Spatial(midHeadDim, midGroups, c.normEps(), c.midBlockScaleFactor()) : new LayerAttention.None();
        GraphSpec.MidSpec mid = new GraphSpec.MidSpec("UNetMidBlock2D", 1, midAttn, c.midBlockScaleFactor());

        List<BlockSpec> up = new ArrayList<>();
        out = boc[n - 1];
        for (int i = 0; i < n; i++) {
            int prev = out;
            out = boc[n - 1 - i];
            int in = boc[n - 1 - Math.min(i + 1, n - 1)];
            boolean attn = c.upBlockTypes().get(i).equals("AttnUpBlock2D");
            LayerAttention a = attn ? spatial(c, out, 1.0) : new LayerAttention.None();
            up.add(new BlockSpec(c.upBlockTypes().get(i), c.layersPerBlock() + 1, in, out, prev, i < n - 1, a,
                    attn && c.upsampleType().equals("resnet"), 1));
        }
        return new GraphSpec("UNet2DModel", c.inChannels(), c.outChannels(), 3, 3, boc, tp, temb, Activation.SILU, null, null,
                ce, null, r, down, mid, up, c.normNumGroups(), c.normEps(), Activation.SILU, c.centerInputSample(), fourier,
                TimestepRule.TRUNCATE_PYTHON_FLOAT, false, true, 0, null);
    }

    /** AttnDown/AttnUp attention: head dim = attention_head_dim or the block's channels; norm_num_groups groups. */
    private static LayerAttention spatial(UNet2DConfig c, int channels, double rescale) {
        int headDim = c.attentionHeadDim() != null ? c.attentionHeadDim() : channels;
        return new LayerAttention.Spatial(headDim, c.normNumGroups(), c.normEps(), rescale);
    }
}
