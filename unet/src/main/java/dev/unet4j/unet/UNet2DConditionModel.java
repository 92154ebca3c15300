package dev.unet4j.unet;

import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.unet.nn.Activation;
import dev.unet4j.unet.nn.AddedEmbedding;
import dev.unet4j.unet.nn.BlockSpec;
import dev.unet4j.unet.nn.ClassEmbedding;
import dev.unet4j.unet.nn.GraphSpec;
import dev.unet4j.unet.nn.LayerAttention;
import dev.unet4j.unet.nn.ResnetDefaults;
import dev.unet4j.unet.nn.TimeProjection;
import dev.unet4j.unet.nn.UNetGraph;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * diffusers {@code UNet2DConditionModel} (Stable Diffusion 1.x/2.x-style, text-conditioned through cross-attention).
 * {@code attention_head_dim} is the number of heads; transformer norms have fixed eps (GroupNorm 1e-6, LayerNorm
 * 1e-5); a Python float timestep becomes float64; odd sizes forward the skip size to the upsamplers.
 */
public final class UNet2DConditionModel extends UNetModel {
    private final UNet2DConditionConfig config;

    private UNet2DConditionModel(UNet2DConditionConfig config, UNetGraph graph, LoadOptions options) {
        super(graph, options.kernels());
        this.config = config;
    }

    /** Builds the model from a config and a parameter source (a checkpoint, or generated weights). */
    public static UNet2DConditionModel build(UNet2DConditionConfig config, ParameterSource source, String sourceName, LoadOptions options) {
        return new UNet2DConditionModel(config, UNetGraph.build(spec(config), source, sourceName, options.factory()), options);
    }

    @Override
    public UNet2DConditionConfig config() {
        return config;
    }

    static GraphSpec spec(UNet2DConditionConfig c) {
        int[] boc = c.blockOutChannels();
        int n = boc.length;
        Activation act = Activation.of(c.actFn());
        boolean fourier = c.timeEmbeddingType().equals("fourier");
        int temb;
        TimeProjection.Spec tp;
        if (fourier) {
            temb = c.timeEmbeddingDim() != null ? c.timeEmbeddingDim() : boc[0] * 2;
            if (temb % 2 != 0) throw new UnsupportedConfigException("UNet2DConditionModel: fourier time_embedding_dim must be even, got " + temb);
            tp = new TimeProjection.Spec(true, temb / 2, c.flipSinToCos(), 0, false);   // set_W_to_weight=False, log=False
        } else {
            temb = c.timeEmbeddingDim() != null ? c.timeEmbeddingDim() : boc[0] * 4;
            tp = new TimeProjection.Spec(false, boc[0], c.flipSinToCos(), c.freqShift(), false);
        }
        ClassEmbedding.Spec ce = null;
        String cet = c.classEmbedType();
        if (cet == null && c.numClassEmbeds() != null) ce = new ClassEmbedding.Spec(ClassEmbedding.Type.TABLE, c.numClassEmbeds(), act);
        else if ("timestep".equals(cet)) ce = new ClassEmbedding.Spec(ClassEmbedding.Type.TIMESTEP, 0, act);
        else if ("identity".equals(cet)) ce = new ClassEmbedding.Spec(ClassEmbedding.Type.IDENTITY, 0, act);
        else if ("projection".equals(cet)) ce = new ClassEmbedding.Spec(ClassEmbedding.Type.PROJECTION, c.projectionClassEmbeddingsInputDim(), Activation.SILU);
        else if ("simple_projection".equals(cet)) ce = new ClassEmbedding.Spec(ClassEmbedding.Type.SIMPLE_PROJECTION, c.projectionClassEmbeddingsInputDim(), act);
        boolean scaleShift = c.resnetTimeScaleShift().equals("scale_shift");
        int groups = c.normNumGroups();
        ResnetDefaults r = new ResnetDefaults(temb, groups, c.normEps(), act, scaleShift);
        int[][] tl = c.transformerLayersPerBlock();
        Set<Integer> crossDims = new HashSet<>();

        List<BlockSpec> down = new ArrayList<>();
        int out = boc[0];
        for (int i = 0; i < n; i++) {
            int in = out;
            out = boc[i];
            String type = c.downBlockTypes().get(i);
            LayerAttention a = switch (type) {
                case "CrossAttnDownBlock2D" -> {
                    crossDims.add(c.crossAttentionDim()[i]);
                    yield new LayerAttention.Transformer(c.heads(i), tl[i], c.crossAttentionDim()[i], groups,
                            c.useLinearProjection(), c.onlyCrossAttention()[i]);
                }
                case "AttnDownBlock2D" -> new LayerAttention.Spatial(c.spatialHeadDim(i, out), groups, c.normEps(), 1.0);
                default -> new LayerAttention.None();
            };
            down.add(new BlockSpec(type, c.layersPerBlock()[i], in, out, 0, i < n - 1, a, false, c.downsamplePadding()));
        }
        GraphSpec.MidSpec mid = null;
        if ("UNetMidBlock2DCrossAttn".equals(c.midBlockType())) {
            crossDims.add(c.crossAttentionDim()[n - 1]);
            mid = new GraphSpec.MidSpec(c.midBlockType(), 1, new LayerAttention.Transformer(c.heads(n - 1), tl[n - 1],
                    c.crossAttentionDim()[n - 1], groups, c.useLinearProjection(), false), c.midBlockScaleFactor());
        } else if ("UNetMidBlock2D".equals(c.midBlockType())) {
            mid = new GraphSpec.MidSpec(c.midBlockType(), 0, new LayerAttention.None(), c.midBlockScaleFactor()); // num_layers=0
        }
        int[][] upTl = c.upTransformerLayers();
        List<BlockSpec> up = new ArrayList<>();
        out = boc[n - 1];
        for (int i = 0; i < n; i++) {
            int prev = out;
            int rev = n - 1 - i;                                   // reversed per-block lists
            out = boc[rev];
            int in = boc[n - 1 - Math.min(i + 1, n - 1)];
            String type = c.upBlockTypes().get(i);
            LayerAttention a = switch (type) {
                case "CrossAttnUpBlock2D" -> {
                    crossDims.add(c.crossAttentionDim()[rev]);
                    yield new LayerAttention.Transformer(c.heads(rev), upTl[i], c.crossAttentionDim()[rev], groups,
                            c.useLinearProjection(), c.onlyCrossAttention()[rev]);
                }
                // AttnUpBlock2D reads attention_head_dim[i], not reversed (fixtures note 1)
                case "AttnUpBlock2D" -> new LayerAttention.Spatial(c.spatialHeadDim(i, out), groups, c.normEps(), 1.0);
                default -> new LayerAttention.None();
            };
            up.add(new BlockSpec(type, c.layersPerBlock()[rev] + 1, in, out, prev, i < n - 1, a, false, 1));
        }
        int crossDim = crossDims.isEmpty() ? 0 : crossDims.size() == 1 ? crossDims.iterator().next() : -1;
        return new GraphSpec("UNet2DConditionModel", c.inChannels(), c.outChannels(), c.convInKernel(), c.convOutKernel(), boc,
                tp, temb, act, c.timestepPostAct() == null ? null : Activation.of(c.timestepPostAct()), c.timeCondProjDim(), ce,
                c.timeEmbeddingActFn() == null ? null : Activation.of(c.timeEmbeddingActFn()), r, down, mid, up, groups, c.normEps(),
                act, c.centerInputSample(), false, TimestepRule.PYTHON_FLOAT_AS_FLOAT64, true, false, crossDim,
                c.additionEmbedType() == null ? null : new AddedEmbedding.Spec(c.additionTimeEmbedDim(), c.flipSinToCos(),
                        c.freqShift(), c.projectionClassEmbeddingsInputDim()));
    }
}
