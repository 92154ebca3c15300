package dev.unet4j.bench;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.vae.AutoencoderKL;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The correctness checks of {@code PipelineSideBySide --quick}: ONNX Runtime, running the graphs recorded from the SD 1.5
 * text encoder (token ids in, Gather of the embedding table) and the VAE decoder (32x32 latents, 256x256 out) on
 * the same seeded weights, gives unet4j's outputs within 1e-4 of their largest magnitude.
 */
class PipelineOrtParityTest {
    @TempDir
    Path dir;

    @Test
    void textEncoderAndVaeDecoderMatchOnnxRuntime() throws Exception {
        try (DnnlKernels kernels = new DnnlKernels()) {
            int[][] ids = Sd15Parts.promptIds();
            try (ClipTextModel text = Sd15Parts.textEncoder(kernels);
                 OrtTwin ort = OrtTwin.trace("text encoder", kernels, dir.resolve("text"), 2, t -> PipelineSideBySide.traceText(t, ids))) {
                assertEquals(123_060_480L, text.parameters(), "CLIP ViT-L/14 text encoder parameters");
                // the graph starts from the token ids, as torch.onnx.export of CLIPTextModel does
                assertArrayEquals(new long[]{2, 77}, ort.inputs.get("input_ids").shape());
                assertTrue(ort.inputs.values().stream().noneMatch(in -> in.shape().length == 3 && in.shape()[2] == 768),
                        "no float [B, T, 768] input: the embeddings are computed in the graph");
                double rel = ort.check(PipelineSideBySide.encode(text, ids), PipelineSideBySide.TOLERANCE);
                assertTrue(rel <= PipelineSideBySide.TOLERANCE, "text encoder " + rel);
            }
            try (AutoencoderKL vae = Sd15Parts.vae(kernels); Tensor z = Sd15Parts.latents(32);
                 OrtTwin ort = OrtTwin.trace("VAE decode", kernels, dir.resolve("vae"), 2, t -> PipelineSideBySide.traceDecode(t, 32))) {
                assertEquals(83_653_863L, vae.parameterCount(), "SD 1.5 VAE parameters");
                float[] ours = PipelineSideBySide.decode(vae, z);
                assertEquals(3 * 256 * 256, ours.length);
                double rel = ort.check(ours, PipelineSideBySide.TOLERANCE);
                assertTrue(rel <= PipelineSideBySide.TOLERANCE, "VAE decode " + rel);
            }
        }
    }
}
