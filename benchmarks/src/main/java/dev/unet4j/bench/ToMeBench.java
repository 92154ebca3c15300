package dev.unet4j.bench;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.GenerationInfo;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.unet.Interceptors;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * ToMe's speed on Stable Diffusion 1.5's 64x64 transformer blocks (512 px, batch 2 with CFG): a UNet with SD 1.5's
 * first level (320 channels, 8 heads, cross-attention 768, two down and three up transformer blocks at 64x64, seeded
 * random weights) and one more level so the up path has a skip, timed per call with and without {@code tome} back to
 * back, alternating which runs first. Reports the median ratio of the time inside the 64x64 transformer blocks (ToMe's
 * own merge work included) and of the whole call. Usage: {@code ToMeBench [pairs] [policy] [warm-up]} (defaults 5,
 * {@code tome}, 1: one untimed call of each first; 0 skips it where a call takes minutes and JIT and primitive
 * creation vanish in it).
 */
public final class ToMeBench {
    private ToMeBench() {
    }

    static final String CONFIG = """
            {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": 8,
             "block_out_channels": [320, 640], "center_input_sample": false, "cross_attention_dim": 768,
             "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "downsample_padding": 1,
             "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
             "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4,
             "sample_size": 64, "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"]}""";

    /** Nanoseconds spent in 64x64 transformer nodes during the calls it watched. */
    static final class BlockTimer implements NodeInterceptor {
        long nanos;

        @Override
        public Tensor intercept(NodeCall call) {
            if (call.kind() != NodeKind.TRANSFORMER || call.input().dim(2) != 64) return call.proceed();
            long t0 = System.nanoTime();
            Tensor out = call.proceed();
            nanos += System.nanoTime() - t0;
            return out;
        }
    }

    record Timing(long blockNanos, long callNanos, double macsFraction) {
    }

    static Timing time(UNetModel model, CachePolicy policy, UNetInputs in) {
        try (UNetSession s = model.newSession();
             CacheSession cache = CacheSession.open(s, policy, GenerationInfo.calls(1).withSeed(0))) {
            BlockTimer timer = new BlockTimer();
            Interceptors.wrap(s, timer);
            long t0 = System.nanoTime();
            cache.call(in).close();
            long call = System.nanoTime() - t0;
            var r = cache.report();
            return new Timing(timer.nanos, call, (double) r.macsDone() / r.fullMacs());
        }
    }

    public static void main(String[] args) {
        int pairs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        CachePolicy tome = CachePolicies.parse(args.length > 1 ? args[1] : "tome");
        try (DnnlKernels kernels = new DnnlKernels();
             UNetModel model = UNet2DConditionModel.build(UNet2DConditionConfig.fromJson(CONFIG), new RandomParameterSource(1234),
                     "SD 1.5 level 0", LoadOptions.of(kernels));
             Tensor x = UNetForwardCases.random(2, 4, 64, 64); Tensor ehs = UNetForwardCases.random(2, 77, 768)) {
            UNetInputs in = UNetInputs.builder(x, Timestep.int64(500, 500)).encoderHiddenStates(ehs).build();
            if (args.length <= 2 || Integer.parseInt(args[2]) > 0) {
                time(model, CachePolicies.NONE, in);                  // warm-up: primitives of both shapes, JIT
                time(model, tome, in);
            }
            List<Double> blockRatio = new ArrayList<>(), callRatio = new ArrayList<>();
            double macs = 0;
            for (int i = 0; i < pairs; i++) {
                Timing full, merged;
                if (i % 2 == 0) {
                    full = time(model, CachePolicies.NONE, in);
                    merged = time(model, tome, in);
                } else {
                    merged = time(model, tome, in);
                    full = time(model, CachePolicies.NONE, in);
                }
                macs = merged.macsFraction();
                blockRatio.add((double) full.blockNanos() / merged.blockNanos());
                callRatio.add((double) full.callNanos() / merged.callNanos());
                System.out.printf("pair %d: 64x64 blocks %.0f ms full, %.0f ms %s; call %.0f / %.0f ms%n", i,
                        full.blockNanos() / 1e6, merged.blockNanos() / 1e6, tome.spec(), full.callNanos() / 1e6, merged.callNanos() / 1e6);
            }
            System.out.printf("%s on SD 1.5 64x64 transformer blocks, batch 2: median %.2fx in the blocks, %.2fx per call "
                    + "(this UNet's MACs %.1f%% of full), %d pairs%n", tome.spec(), median(blockRatio), median(callRatio), 100 * macs, pairs);
        }
    }

    static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }
}
