package dev.unet4j.e2e.reliability;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.GenerationResult;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.pipeline.denoising.RunModel;
import dev.unet4j.samplers.NonFiniteLatentsException;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.guidance.ClassConditioning;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.unet.Interceptors;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.unet.guard.NonFiniteGuard;
import dev.unet4j.unet.guard.NonFiniteValueException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad tensors and values at run time get a specific exception before native code sees them: input shapes, tensor
 * sampler step counts and strengths, guidance batches; and NaN/Inf appearing inside a forward
 * is caught, opt-in, by {@link NonFiniteGuard} at the node that made it, also when composed with a feature cache.
 */
class RunTimeGuardsTest {
    @TempDir
    Path dir;

    private static void refused(String fragment, Executable e) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        assertTrue(x.getMessage().contains(fragment), "expected '" + fragment + "' in: " + x.getMessage());
    }

    @Test
    void badInputShapesAreRefusedAndLeaveTheSessionUsable() {
        UNetModel digits = Models.digits(), sd = Models.sdTiny();
        long live = -1;
        try (UNetSession s = digits.newSession(); UNetSession t = sd.newSession();
             Tensor x = Tensor.zeros(1, 1, 16, 16); Tensor x3 = Tensor.zeros(1, 1, 16); Tensor xc = Tensor.zeros(1, 3, 16, 16);
             Tensor odd = Tensor.zeros(1, 1, 15, 15); Tensor label = Tensor.of(new float[]{3}, 1L);
             Tensor labels2 = Tensor.of(new float[]{3, 4}, 2L);
             Tensor y = Tensor.zeros(1, 4, 16, 16); Tensor ehs = Tensor.zeros(1, 8, 48); Tensor ehsWide = Tensor.zeros(1, 8, 32);
             Tensor ehs2 = Tensor.zeros(2, 8, 48); Tensor mask = Tensor.zeros(1, 5);
             Tensor ehs0 = Tensor.zeros(1, 0, 48); Tensor empty = Tensor.zeros(0, 1, 16, 16)) {
            Timestep ts = Timestep.int64(500);
            s.forward(UNetInputs.builder(x, ts).classLabels(label).build()).close(); // first-run caches of the shape
            live = NativeBuffer.liveBytes();
            refused("sample must be [B, C, H, W]", () -> s.forward(UNetInputs.builder(x3, ts).classLabels(label).build()));
            refused("sample has 3 channels, the model takes 1", () -> s.forward(UNetInputs.builder(xc, ts).classLabels(label).build()));
            refused("not divisible by", () -> s.forward(UNetInputs.builder(odd, ts).classLabels(label).build()));
            refused("class_labels are required", () -> s.forward(UNetInputs.builder(x, ts).build()));
            refused("class_labels must be [1]", () -> s.forward(UNetInputs.builder(x, ts).classLabels(labels2).build()));
            refused("expected 1 or the batch size 1", () -> s.forward(UNetInputs.builder(x, Timestep.int64(1, 2, 3)).classLabels(label).build()));
            refused("finite", () -> s.forward(UNetInputs.builder(x, Timestep.float32(Float.NaN)).classLabels(label).build()));
            refused("encoder_hidden_states [B, T, 48] are required", () -> t.forward(UNetInputs.builder(y, ts).build()));
            refused("width 32 != cross_attention_dim 48", () -> t.forward(UNetInputs.builder(y, ts).encoderHiddenStates(ehsWide).build()));
            refused("encoder_hidden_states batch 2 != sample batch 1", () -> t.forward(UNetInputs.builder(y, ts).encoderHiddenStates(ehs2).build()));
            // used to reach a kernel wrapper's "/ by zero"
            refused("has no tokens; cross-attention needs at least one", () -> t.forward(UNetInputs.builder(y, ts).encoderHiddenStates(ehs0).build()));
            refused("is empty", () -> s.forward(UNetInputs.builder(empty, Timestep.int64(500)).classLabels(label).build()));
            refused("encoder_attention_mask must be [1, 8]", () -> t.forward(UNetInputs.builder(y, ts).encoderHiddenStates(ehs).encoderAttentionMask(mask).build()));
            // still usable: a good call after the refusals gives the same numbers as a fresh session
            try (Tensor a = s.forward(UNetInputs.builder(x, ts).classLabels(label).build());
                 UNetSession fresh = digits.newSession();
                 Tensor b = fresh.forward(UNetInputs.builder(x, ts).classLabels(label).build())) {
                assertArrayEquals(b.toFloatArray(), a.toFloatArray());
            }
            assertEquals(live, NativeBuffer.liveBytes(), "native memory after the refused calls");
        }
    }

    /**
     * Discrete-timestep samplers refuse more steps than training timesteps and custom timesteps outside
     * [0, num_train_timesteps) (diffusers raises the same); the samplers' plan runs on a zero network, so a sampler
     * that accepted would be found without running a UNet. EDM works on continuous sigmas: any step count is valid.
     */
    @Test
    void samplersRefuseOutOfRangeStepsAndTimesteps() {
        List<String> accepted = new ArrayList<>();
        for (String name : List.of("ddim", "euler-karras", "heun-karras", "dpmpp-2m", "edm-heun")) {
            Pipeline p = Models.digitsPipeline(name);
            refused("steps must be >= 1", () -> p.generate(Models.digitsGeneration(0, 1, 3)));
            try {
                p.plan(1001, new int[]{1, 1, 16, 16});
                accepted.add(name);
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage().contains("exceed the 1000 training timesteps"), expected.getMessage());
            }
        }
        assertEquals(List.of("edm-heun"), accepted, "samplers that accepted 1001 steps of 1000 training timesteps");
        var cfg = Models.digitsScheduler();
        var ddim = dev.unet4j.samplers.ddim.DdimSampler.fromConfig(cfg);
        var dpm = dev.unet4j.samplers.kdiffusion.DpmSolverSampler.fromConfig(cfg);
        for (long[] bad : new long[][]{{999, 500, -1}, {1000, 500, 0}, {5000}}) {
            refused("outside [0, 1000)", () -> Pipeline.of(Models.digits(), ddim.withOptions(ddim.options().withCustomTimesteps(bad)))
                    .plan(bad.length, new int[]{1, 1, 16, 16}));
            refused("outside [0, 1000)", () -> Pipeline.of(Models.digits(), dpm.withOptions(
                    dev.unet4j.samplers.kdiffusion.DpmSolverSampler.Options.fromConfig(cfg).withCustomTimesteps(bad)))
                    .plan(bad.length, new int[]{1, 1, 16, 16}));
        }
        refused("strength must be in (0, 1]", () -> new dev.unet4j.samplers.SamplingRequest(5, new int[]{1, 1, 16, 16},
                dev.unet4j.samplers.NoiseSource.supplied(dev.unet4j.samplers.Latents.zeros(1, 1, 16, 16), List.of()),
                dev.unet4j.samplers.Latents.zeros(1, 1, 16, 16), 1.5, dev.unet4j.samplers.StepCallback.NONE));
    }

    @Test
    void guidanceBatchesOfMismatchedSizeAreRefused() {
        Pipeline p = Models.sdPipeline("ddim");
        refused("items", () -> p.generate(Generation.of(2).size(16, 16).seeds(1).conditioning(Models.text(1))
                .guidance(5.0, new dev.unet4j.samplers.guidance.TextConditioning(new float[2 * 8 * 48], new int[]{2, 8, 48}))));
        refused("uncond has 2 items, cond 1", () -> Guidance.classifierFree((x, call, c) -> x,
                new ClassConditioning(new long[]{10, 10}), new ClassConditioning(new long[]{3}), 1.5, 0));
        Pipeline d = Models.digitsPipeline("ddim");
        refused("3 items for a batch of 2", () -> d.generate(Generation.of(2).classes(1, 2, 3).seeds(0, 1).guidance(1.5, 10)));
    }

    // ------------------------------------------------------------------ NaN / Inf

    /** Writes NaN into element 5 of {@code tensor} in a copy of digits-16. */
    /**
     * The digits model with every value of {@code tensor} set to the largest float: finite (NaN weights are refused
     * at load), but the node using it overflows to infinities and NaN on the first call.
     */
    private Path digitsWithNaN(String tensor) throws IOException {
        Path src = Fixtures.model("digits-16");
        Path folder = Files.createDirectories(dir.resolve("overflow-" + tensor));
        Files.copy(src.resolve("config.json"), folder.resolve("config.json"));
        try (SafetensorsFile f = SafetensorsFile.open(src.resolve("diffusion_pytorch_model.safetensors"))) {
            SafetensorsWriter w = new SafetensorsWriter().metadata(f.metadata());
            for (String name : f.names()) {
                try (Tensor t = f.load(name)) {
                    float[] v = t.toFloatArray();
                    if (name.equals(tensor)) Arrays.fill(v, Float.MAX_VALUE);
                    w.add(name, v, t.shape());
                }
            }
            w.write(folder.resolve("diffusion_pytorch_model.safetensors"));
        }
        return folder;
    }

    /** The innermost graph node whose path contains {@code parameter}'s module: read from the model's node list. */
    private static String owningNode(UNetModel m, String parameter) {
        String best = "";
        for (String p : m.nodePaths()) if (parameter.startsWith(p + ".") && p.length() > best.length()) best = p;
        return best;
    }

    @Test
    void nonFiniteGuardNamesTheNodeWhereNaNAppears() throws IOException {
        String param = "down_blocks.1.attentions.0.to_k.weight";
        try (UNetModel bad = UNetModel.load(digitsWithNaN(param), LoadOptions.of(Models.KERNELS))) {
            String node = owningNode(bad, param);
            assertTrue(node.startsWith("down_blocks.1.attentions.0"), node);
            Pipeline unguarded = Pipeline.of(bad, Samplers.byName("ddim", SamplerOptions.of(Models.digitsScheduler())));
            // without the guard the run stops at its first step (the latents are no longer finite), naming no node
            NonFiniteLatentsException stop = assertThrows(NonFiniteLatentsException.class, () -> unguarded.generate(Models.digitsGeneration(2, 7, 3)));
            assertEquals(0, stop.stepIndex());
            long live = NativeBuffer.liveBytes();
            NonFiniteValueException e = assertThrows(NonFiniteValueException.class, () -> unguarded
                    .withSessionSetup(s -> s.setInterceptor(new NonFiniteGuard())).generate(Models.digitsGeneration(2, 7, 3)));
            assertEquals(node, e.path());
            assertEquals(0, e.callIndex());
            assertTrue(e.getMessage().contains(node) && e.getMessage().contains("UNet call 0"), e.getMessage());
            assertEquals(live, NativeBuffer.liveBytes(), "the failed call's native memory is freed with its session");
        }
    }

    /** An Inf injected into one node at call 2 only: reported there, with that call index. */
    @Test
    void nonFiniteGuardReportsTheCallIndex() {
        String target = "up_blocks.1.attentions.0";
        NodeInterceptor poison = new NodeInterceptor() {
            @Override
            public Tensor intercept(NodeCall call) {
                Tensor out = call.proceed();
                if (call.callIndex() != 2 || !call.path().equals(target)) return out;
                Tensor copy = call.copyOf(out);
                float[] v = copy.toFloatArray();
                v[17] = Float.POSITIVE_INFINITY;
                copy.setFrom(v);
                return copy;
            }
        };
        Pipeline p = Models.digitsPipeline("ddim").withSessionSetup(s -> s.setInterceptor(Interceptors.chain(new NonFiniteGuard(), poison)));
        NonFiniteValueException e = assertThrows(NonFiniteValueException.class, () -> p.generate(Models.digitsGeneration(5, 3, 1)));
        assertEquals(target, e.path());
        assertEquals(2, e.callIndex());
        assertEquals(1, e.count());
        assertEquals(17, e.firstIndex());
    }

    /** The guard chained outside a DeepCache session: same bits as the cache alone, the cache still skips work. */
    @Test
    void nonFiniteGuardComposesWithACachePolicy() throws IOException {
        Pipeline p = Models.digitsPipeline("ddim");
        Generation g = Models.digitsGeneration(6, 11, 2, 5);
        GenerationResult cacheOnly = p.withRunModel(Models.cached("deepcache:interval=3", null)).generate(g);
        List<String> seen = new ArrayList<>();
        NodeInterceptor recorder = new NodeInterceptor() {
            @Override
            public Tensor intercept(NodeCall call) {
                if (call.callIndex() == 1) seen.add(call.path());
                return call.proceed();
            }
        };
        NodeInterceptor guard = Interceptors.chain(recorder, new NonFiniteGuard());
        GenerationResult both = p.withRunModel(Models.cached("deepcache:interval=3", guard)).generate(g);
        assertArrayEquals(cacheOnly.latents().data(), both.latents().data());
        GenerationResult full = p.generate(g);
        assertTrue(!Arrays.equals(full.latents().data(), both.latents().data()), "the cache changed the computation");
        assertTrue(seen.contains("conv_in") && seen.size() < Models.digits().nodePaths().size(),
                "on a cached call the guard sees the nodes that run: " + seen.size() + " of " + Models.digits().nodePaths().size());
        // and it still fails fast on a NaN model under the cache
        try (UNetModel bad = UNetModel.load(digitsWithNaN("mid_block.resnets.0.conv1.weight"), LoadOptions.of(Models.KERNELS))) {
            Pipeline q = Pipeline.of(bad, Samplers.byName("ddim", SamplerOptions.of(Models.digitsScheduler())))
                    .withRunModel(Models.cached("deepcache:interval=3", new NonFiniteGuard()));
            NonFiniteValueException e = assertThrows(NonFiniteValueException.class, () -> q.generate(g));
            assertEquals(owningNode(bad, "mid_block.resnets.0.conv1.weight"), e.path());
        }
    }
}
