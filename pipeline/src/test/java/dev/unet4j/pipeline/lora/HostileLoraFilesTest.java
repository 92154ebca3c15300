package dev.unet4j.pipeline.lora;

import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.core.testing.SafetensorsMutator;
import dev.unet4j.pipeline.lora.LoraFile.Component;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA files as an adversary writes them: NaN factors, alphas of every dtype, scales that overflow, and seeded
 * structure-aware mutations of lora-tiny (renamed, reshaped, retyped, dropped, duplicated, poisoned tensors). Reading
 * fails only with an {@link IOException}, applying only with a {@link LoraException} listing what is wrong; what
 * passes both is prepared on the kernels and native memory returns to its baseline. {@code -Dunet4j.fuzz.iterations=N}
 * ({@code -Plong}: N/100 = 2,000) runs longer than the default 100.
 */
class HostileLoraFilesTest {
    static final String Q = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
    static final String K = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_k";
    static DnnlKernels k;
    static UNetModel unet;
    static ClipTextModel text;
    static final LayerCatalog UNET_LAYERS = new LayerCatalog();
    static final LayerCatalog TEXT_LAYERS = new LayerCatalog();

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws IOException {
        k = new DnnlKernels(DnnlKernels.Options.exact());
        Path pipe = Fixtures.fixture("sd-pipeline-tiny");
        unet = UNetModel.load(pipe.resolve("unet"), LoadOptions.of(k).withLayerFactory(kk -> UNET_LAYERS.recording(LayerFactory.of(kk))));
        text = ClipTextModel.load(pipe.resolve("text_encoder"), LoadOptions.of(k).withLayerFactory(kk -> TEXT_LAYERS.recording(LayerFactory.of(kk))));
    }

    @AfterAll
    static void close() {
        if (unet != null) unet.close();
        if (text != null) text.close();
        if (k != null) k.close();
    }

    static Map<Component, LayerCatalog> catalogs() {
        return Map.of(Component.UNET, UNET_LAYERS, Component.TEXT_ENCODER, TEXT_LAYERS);
    }

    private LoraException applyFails(Path file) throws IOException {
        LoraFile f = LoraFile.load(file);
        return assertThrows(LoraException.class, () -> LoraAdapters.sidePath(LoraSet.of(f, 1), k, catalogs()));
    }

    @Test
    void nanAndInfiniteFactorsAreListedWithTheTensor() throws IOException {
        float[] down = new float[4 * 8];
        down[5] = Float.NaN;
        down[9] = Float.NaN;
        float[] up = new float[8 * 4];
        up[30] = Float.POSITIVE_INFINITY;
        Path f = dir.resolve("nan.safetensors");
        new SafetensorsWriter().add(Q + ".lora_down.weight", down, 4, 8).add(Q + ".lora_up.weight", new float[8 * 4], 8, 4)
                .add(K + ".lora_down.weight", new float[4 * 8], 4, 8).add(K + ".lora_up.weight", up, 8, 4).write(f);
        LoraException e = applyFails(f);
        assertEquals(2, e.problems().size(), e.getMessage());
        assertTrue(e.getMessage().contains(Q + ".lora_down.weight: 2 NaN or infinite values (first: NaN at flat index 5)"), e.getMessage());
        assertTrue(e.getMessage().contains(K + ".lora_up.weight: 1 NaN or infinite value (first: Infinity at flat index 30)"), e.getMessage());
    }

    /** alpha stored as F16, BF16, F32 or F64, as a scalar or a 1-element tensor, is read as its value; anything else is named. */
    @Test
    void alphaOfEveryFloatDtypeIsReadAndOthersAreRefusedByDtype() throws IOException {
        Object[][] floats = { // dtype, shape, bytes of 2.5 (little-endian)
                {DType.F16, new long[0], new byte[] {0x00, 0x41}},
                {DType.BF16, new long[] {1}, new byte[] {0x20, 0x40}},
                {DType.F32, new long[0], le(4).putFloat(2.5f).array()},
                {DType.F64, new long[] {1}, le(8).putDouble(2.5).array()}};
        for (Object[] c : floats) {
            Path f = dir.resolve("alpha-" + c[0] + ".safetensors");
            new SafetensorsWriter().add(Q + ".lora_down.weight", new float[4 * 8], 4, 8).add(Q + ".lora_up.weight", new float[8 * 4], 8, 4)
                    .addRaw(Q + ".alpha", (DType) c[0], (long[]) c[1], (byte[]) c[2]).write(f);
            LoraFile lf = LoraFile.load(f);
            assertEquals(List.of(), lf.problems(), c[0].toString());
            assertEquals(2.5f, lf.modules().get(0).alpha(), c[0].toString());
        }
        Object[][] refused = {
                {DType.I64, new long[0], new byte[8], "I64 []"}, {DType.U8, new long[0], new byte[1], "U8 []"},
                {DType.BOOL, new long[0], new byte[1], "BOOL []"}, {DType.F32, new long[] {2}, new byte[8], "F32 [2]"},
                {DType.F32, new long[] {1, 1}, le(4).putFloat(Float.NaN).array(), "alpha is NaN"}};
        for (Object[] c : refused) {
            Path f = dir.resolve("alpha-bad.safetensors");
            new SafetensorsWriter().add(Q + ".lora_down.weight", new float[4 * 8], 4, 8).add(Q + ".lora_up.weight", new float[8 * 4], 8, 4)
                    .addRaw(Q + ".alpha", (DType) c[0], (long[]) c[1], (byte[]) c[2]).write(f);
            LoraException e = applyFails(f);
            assertTrue(e.getMessage().contains(Q + ".alpha: alpha ") && e.getMessage().contains((String) c[3]), e.getMessage());
        }
    }

    /** scale x alpha / rank beyond float32 would make every output infinite. */
    @Test
    void anOverflowingScaleTimesAlphaIsRefused() throws IOException {
        Path f = dir.resolve("huge-alpha.safetensors");
        new SafetensorsWriter().add(Q + ".lora_down.weight", new float[4 * 8], 4, 8).add(Q + ".lora_up.weight", new float[8 * 4], 8, 4)
                .add(Q + ".alpha", new float[] {3e38f}).write(f);
        LoraFile lf = LoraFile.load(f);
        LoraException e = assertThrows(LoraException.class, () -> LoraAdapters.sidePath(LoraSet.of(lf, 10), k, catalogs()));
        assertTrue(e.getMessage().contains(Q.substring("lora_unet_".length()) + ": scale 10.0 x alpha 3.0E38 / rank 4 is Infinity in float32"), e.getMessage());
        try (LoraAdapters ok = LoraAdapters.sidePath(LoraSet.of(lf, 1e-30), k, catalogs())) {
            assertEquals(1, ok.touched().get(Component.UNET));
        }
    }

    @Test
    void mutatedLoraFilesFailOnlyWithDocumentedExceptions() throws IOException {
        byte[] seed = Files.readAllBytes(Fixtures.fixture("lora-tiny").resolve("lora.safetensors"));
        SafetensorsMutator mutator = new SafetensorsMutator(List.of(".lora_down.weight", ".lora_up.weight", ".alpha",
                ".lora_A.weight", ".lora_B.weight", ".hada_w1_a", ".weight"));
        int iterations = Integer.getInteger("unet4j.fuzz.iterations", 0) > 0 ? Integer.getInteger("unet4j.fuzz.iterations") / 100 : 100;
        SplittableRandom rnd = new SplittableRandom(0x10AAL);
        Path file = dir.resolve("mutated.safetensors");
        int unreadable = 0, refused = 0, applied = 0;
        long live = NativeBuffer.liveBytes();
        ReferenceKernels plain = new ReferenceKernels(); // preparing on oneDNN costs ~1 s a set; the checks are the same
        for (int it = 0; it < iterations; it++) {
            StringBuilder what = new StringBuilder("iteration " + it + ": ");
            Files.write(file, mutator.mutate(seed, rnd, what));
            try {
                LoraFile lf = LoraFile.load(file);
                try (LoraAdapters a = LoraAdapters.sidePath(LoraSet.of(lf, 0.8), plain, catalogs())) {
                    assertTrue(a.touched().get(Component.UNET) > 0, what.toString());
                    applied++;
                } catch (LoraException e) {
                    assertTrue(!e.problems().isEmpty() && e.problems().stream().allMatch(p -> p.startsWith("mutated.safetensors: ")),
                            what + ": " + e.getMessage());
                    refused++;
                }
            } catch (IOException e) {
                assertTrue(e.getMessage().contains("mutated.safetensors"), what + ": " + e.getMessage());
                unreadable++;
            } catch (Throwable t) {
                throw new AssertionError(what + " escaped with " + t, t);
            }
            assertEquals(live, NativeBuffer.liveBytes(), what + ": native memory not returned");
        }
        System.out.printf("LoRA fuzz: %d mutated files, %d unreadable, %d refused with a list, %d applied%n",
                iterations, unreadable, refused, applied);
        assertTrue(unreadable > 0 && refused > 0 && applied > 0, unreadable + " / " + refused + " / " + applied);
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
