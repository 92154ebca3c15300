package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.UNetInputs;

import java.util.List;
import java.util.Set;

/**
 * Token Merging for Stable Diffusion (Bolya &amp; Hoffman 2023, "Token Merging for Fast Stable Diffusion"), as its
 * official code {@code dbolya/tomesd} does it: {@code tomesd/patch.py} {@code apply_patch} (the arguments, kebab-cased,
 * with its defaults), {@code compute_merge} and {@code make_diffusers_tome_block}'s {@code forward}, and
 * {@code tomesd/merge.py} {@code bipartite_soft_matching_random2d} ({@link BipartiteSoftMatching}).
 *
 * <p>In every transformer block whose token count is at most {@code max-downsample} times below the latent's
 * ({@code downsample = ceil(sqrt(H*W // T))}: SD's 64x64 blocks at 512 px with the default 1), one merge plan is made
 * per block visit from the block's input hidden state {@code x}: {@code r = int(T * ratio)} tokens merged into
 * destinations chosen one per {@code sy x sx} cell, by cosine similarity, by mean. The plan then wraps
 * {@code attn1(norm1(x))} ({@code merge-attn}), {@code attn2(norm2(h), ctx)} ({@code merge-crossattn}) and
 * {@code ff(norm3(h))} ({@code merge-mlp}): those run on the merged tokens ({@link NodeCall#proceedWith}) and their
 * outputs are unmerged before the residual add.
 *
 * <p>Random destinations ({@code use-rand}): each planned block draws {@code torch.randint(sy*sx, size=(h/sy, w/sx,
 * 1))} from one torch generator per generation, seeded with the generation's seed ({@code GenerationInfo.seed}).
 * tomesd forks torch's global generator at its first merge and keeps drawing from the fork, so this equals tomesd
 * when the global seed was set to that seed before the pipeline and nothing drew from the global generator before the
 * first UNet call (diffusers with its own {@code generator=}). As tomesd, random choice is off (top-left destinations)
 * for an odd batch: without CFG the halves cannot share a batch. A block whose {@code h*w} does not match its token
 * count (latent sides not divisible by the downsample) is left unmerged (tomesd would fail there).
 *
 * <p>The similarity matmul ({@code B * (T - T/(sx*sy)) * T/(sx*sy) * C} MACs per plan) counts as work done; the
 * merged nodes count their MACs on the merged tokens against full compute's on all tokens. Compose it last
 * ({@code tgate:...+tome:...}): an outer reuse policy then keeps whole, unmerged outputs.
 */
public record ToMe(double ratio, int maxDownsample, int sx, int sy, boolean useRand, boolean mergeAttn,
                   boolean mergeCrossAttn, boolean mergeMlp) implements CachePolicy {
    public static final String NAME = "tome";

    public ToMe {
        if (!(ratio >= 0 && ratio < 1)) throw new IllegalArgumentException("tome: ratio must be in [0, 1), got " + ratio);
        if (maxDownsample < 1) throw new IllegalArgumentException("tome: max-downsample must be >= 1, got " + maxDownsample);
        if (sx < 1 || sy < 1) throw new IllegalArgumentException("tome: sx and sy must be >= 1, got sx=" + sx + ", sy=" + sy);
    }

    /** tomesd's {@code apply_patch} defaults. */
    public static ToMe defaults() {
        return new ToMe(0.5, 1, 2, 2, true, true, false, false);
    }

    /** {@code tome:ratio=0.5,max-downsample=1,sx=2,sy=2,use-rand=true,merge-attn=true,merge-crossattn=false,merge-mlp=false}. */
    public static ToMe parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("ratio", "max-downsample", "sx", "sy", "use-rand", "merge-attn",
                "merge-crossattn", "merge-mlp"), Set.of(), Set.of());
        ToMe d = defaults();
        return new ToMe(a.number("ratio", d.ratio), a.integer("max-downsample", d.maxDownsample), a.integer("sx", d.sx),
                a.integer("sy", d.sy), bool(a, "use-rand", d.useRand), bool(a, "merge-attn", d.mergeAttn),
                bool(a, "merge-crossattn", d.mergeCrossAttn), bool(a, "merge-mlp", d.mergeMlp));
    }

    private static boolean bool(PolicyArgs a, String key, boolean def) {
        String v = a.string(key, null);
        if (v == null) return def;
        if (v.equals("true")) return true;
        if (v.equals("false")) return false;
        throw new IllegalArgumentException("cache policy 'tome': " + key + "=" + v + " is not true or false");
    }

    @Override
    public String spec() {
        return NAME + ":ratio=" + ratio + ",max-downsample=" + maxDownsample + ",sx=" + sx + ",sy=" + sy + ",use-rand=" + useRand
                + ",merge-attn=" + mergeAttn + ",merge-crossattn=" + mergeCrossAttn + ",merge-mlp=" + mergeMlp;
    }

    /** tomesd's {@code compute_merge} downsample of a block with {@code tokens} tokens in an {@code h x w} latent. */
    static int downsample(int h, int w, long tokens) {
        return (int) Math.ceil(Math.sqrt((double) ((long) h * w / tokens)));
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        return new Run(new TorchGenerator(ctx.info().seed()));
    }

    private boolean merges(NodeKind kind) {
        return switch (kind) {
            case ATTN1 -> mergeAttn;
            case ATTN2 -> mergeCrossAttn;
            case FEED_FORWARD -> mergeMlp;
            default -> false;
        };
    }

    private final class Run implements PolicyRun {
        private final TorchGenerator generator;
        private int latentH, latentW;
        private String block;                        // the transformer block of the current plan
        private BipartiteSoftMatching plan;
        private int mergedNodes;

        Run(TorchGenerator generator) {
            this.generator = generator;
        }

        @Override
        public void beginCall(int callIndex, UNetInputs in) {
            latentH = (int) in.sample().dim(2);
            latentW = (int) in.sample().dim(3);
            block = null;
            plan = null;
            mergedNodes = 0;
        }

        @Override
        public Tensor intercept(NodeCall c, int callIndex) {
            NodeKind kind = c.kind();
            if (kind != NodeKind.ATTN1 && kind != NodeKind.ATTN2 && kind != NodeKind.FEED_FORWARD) return c.proceed();
            String path = c.path();
            String owner = path.substring(0, path.lastIndexOf('.'));
            if (kind == NodeKind.ATTN1 || !owner.equals(block)) {  // attn1 opens a block visit: compute_merge(x)
                block = owner;
                plan = c.residual() == null ? null : plan(c.residual(), c);
            }
            if (plan == null || !merges(kind)) return c.proceed();
            Tensor x = c.input();                                    // [B, T, C], the normed tokens
            int channels = (int) x.dim(2);
            Tensor merged = tensor(c.workspace(), plan.merge(x.toFloatArray(), channels), x.dim(0), plan.mergedTokens(), channels);
            Tensor y = c.proceedWith(merged);                        // [B, T', C']
            try {
                int outChannels = (int) y.dim(2);
                mergedNodes++;
                return tensor(c.workspace(), plan.unmerge(y.toFloatArray(), outChannels), y.dim(0), x.dim(1), outChannels);
            } finally {
                merged.close();                                      // ours, also if an inner policy handed it back
            }
        }

        /** {@code compute_merge}: the plan of this block visit, or null ({@code do_nothing}). */
        private BipartiteSoftMatching plan(Tensor x, NodeCall c) {
            int batch = (int) x.dim(0), tokens = (int) x.dim(1), channels = (int) x.dim(2);
            int ds = downsample(latentH, latentW, tokens);
            if (ds > maxDownsample) return null;
            int w = (int) Math.ceil(latentW / (double) ds), h = (int) Math.ceil(latentH / (double) ds);
            int r = (int) (tokens * ratio);
            if (r <= 0 || (long) w * h != tokens) return null;
            boolean rand = useRand && batch % 2 == 0;                // odd batch: prompted and unprompted not together
            int[] choices = null;
            if (rand) {
                long[] drawn = generator.randint((long) sx * sy, (h / sy) * (w / sx));
                choices = new int[drawn.length];
                for (int i = 0; i < drawn.length; i++) choices[i] = (int) drawn[i];
            }
            int[] dst = BipartiteSoftMatching.destinations(w, h, sx, sy, choices);
            Kernels k = c.kernels();
            Workspace ws = c.workspace();
            BipartiteSoftMatching p = BipartiteSoftMatching.plan(x.toFloatArray(), batch, tokens, channels, dst, r,
                    (a, b, na, nb, ch) -> {
                        try (Tensor ta = tensor(ws, a, 1, na, ch); Tensor tb = tensor(ws, b, 1, nb, ch);
                             Tensor s = k.matmul(ws, ta, tb, true, 1f)) {    // [1, na, nb]
                            return s.toFloatArray();
                        }
                    });
            c.addMacs((long) batch * (tokens - dst.length) * dst.length * channels);
            return p;
        }

        private Tensor tensor(Workspace ws, float[] values, long... shape) {
            Tensor t = Tensor.allocate(ws.allocator(), shape);
            t.setFrom(values);
            return t;
        }

        @Override
        public String label(int callIndex) {
            return mergedNodes == 0 ? "" : "tome " + mergedNodes;
        }

        @Override
        public long bytesHeld() {
            return 0;
        }

        @Override
        public void close() {
        }
    }
}
