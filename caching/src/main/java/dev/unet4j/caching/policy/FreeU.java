package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.caching.UNetStructure;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.SkipEvent;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * FreeU (Si et al. 2023) as diffusers' {@code apply_freeu}: in up blocks 0 and 1 ({@code resolution_idx} 0 and 1),
 * before every layer's concatenation, the first {@code C/2} channels of the hidden state are multiplied by
 * {@code b1} (block 0) / {@code b2} (block 1), and the popped skip goes through {@code fourier_filter(threshold=1,
 * scale=s1 / s2)}. The backbone scaling is applied to the output of the node that produces that hidden state (the
 * previous layer, the previous up block, or the mid block), which feeds nothing but that concatenation.
 */
public record FreeU(double b1, double b2, double s1, double s2) implements CachePolicy {
    public static final String NAME = "freeu";

    public static FreeU parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("b1", "b2", "s1", "s2"), Set.of(), Set.of());
        // defaults: the FreeU paper's SD1.5 values
        return new FreeU(a.number("b1", 1.5), a.number("b2", 1.6), a.number("s1", 0.9), a.number("s2", 0.2));
    }

    @Override
    public String spec() {
        return NAME + ":b1=" + b1 + ",b2=" + b2 + ",s1=" + s1 + ",s2=" + s2;
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        UNetStructure s = ctx.structure();
        Map<String, Backbone> backbone = new HashMap<>();
        for (int u = 0; u < Math.min(2, s.upBlocks()); u++) {
            double b = u == 0 ? b1 : b2;
            for (int j = 0; j < s.upLayers(u); j++) backbone.put(s.upLayerPredecessor(u, j), new Backbone(b, s.upLayerNodes(u, j).get(0)));
        }
        return new Run(backbone, ctx.served());
    }

    /** The backbone factor for a node's output and the resnet that reads it (after the concatenation). */
    private record Backbone(double factor, String consumer) {
    }

    private final class Run implements PolicyRun {
        private final Map<String, Backbone> backbone;
        private final Predicate<String> served;

        Run(Map<String, Backbone> backbone, Predicate<String> served) {
            this.backbone = backbone;
            this.served = served;
        }

        @Override
        public Tensor intercept(NodeCall call, int callIndex) {
            Backbone b = backbone.get(call.path());
            Tensor out = call.proceed();
            // a consumer served from a cache (DeepCache's cheap calls) does not read the scaled state
            if (b == null || b.factor == 1.0 || served.test(b.consumer)) return out;
            return scaleFirstHalf(out, (float) b.factor, call.kernels(), call.workspace());
        }

        @Override
        public Tensor transformSkip(SkipEvent pop, int skipIndex, Tensor skip, Kernels k, Workspace ws) {
            int u = Integer.parseInt(pop.node().substring("up_blocks.".length()));
            if (u > 1) return skip;
            double s = u == 0 ? s1 : s2;
            return s == 1.0 ? skip : FourierFilter.apply(skip, 1, (float) s, k, ws);
        }

        @Override
        public long bytesHeld() {
            return 0;
        }

        @Override
        public void close() {
        }
    }

    /** {@code x[:, :C/2] *= b}, as a broadcast multiply by a per-channel factor. */
    static Tensor scaleFirstHalf(Tensor x, float b, Kernels k, Workspace ws) {
        int c = (int) x.dim(1);
        float[] f = new float[c];
        for (int i = 0; i < c; i++) f[i] = i < c / 2 ? b : 1f;
        try (Tensor factors = Tensor.allocate(ws.allocator(), 1, c, 1, 1)) {
            factors.setFrom(f);
            return k.mul(ws, x, factors);
        }
    }
}
