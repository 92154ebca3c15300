package dev.unet4j.pipeline;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.LanczosResampler;
import dev.unet4j.core.image.PngReader;
import dev.unet4j.samplers.Latents;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** VaeImageProcessor as the SD pipelines configure it, against diffusers' stored preprocessing and its formulas. */
class VaeImageProcessorTest {
    private final VaeImageProcessor p = new VaeImageProcessor(8);

    @Test
    void preprocessEqualsTheStoredImg2ImgInput() throws IOException {
        Image in = PngReader.read(Fixture.pipeline().resolve("img2img_input.png"));
        Latents x = p.preprocess(in, 0, 0);
        Fixture.assertClose("image_preprocessed", Fixture.of("c_img2img").get("image_preprocessed"), x.data(), x.shape(), 1e-6);
    }

    /** Sizes round down to multiples of the VAE factor and the image is Lanczos-resized to them; grey becomes RGB. */
    @Test
    void sizesAndGreyscale() {
        byte[] g = new byte[70 * 45];
        for (int i = 0; i < g.length; i++) g[i] = (byte) (i * 7);
        Image grey = new Image(70, 45, 1, g);
        Latents x = p.preprocess(grey, 0, 0);
        assertArrayEquals(new int[] {1, 3, 40, 64}, x.shape());
        Image resized = LanczosResampler.resize(grey, 64, 40);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 40; y++) {
                for (int xx = 0; xx < 64; xx++) {
                    assertEquals(2f * (resized.get(xx, y, 0) / 255f) - 1f, x.data()[(c * 40 + y) * 64 + xx], 0f);
                }
            }
        }
        assertArrayEquals(new int[] {24, 16}, p.defaultHeightWidth(grey, 31, 17));
        assertThrows(IllegalArgumentException.class, () -> p.preprocess(new Image(5, 30, 1, new byte[150]), 0, 0));
    }

    /** The mask: Pillow's luma (299/587/114 in 16-bit fixed point), /255, binarised at 0.5. */
    @Test
    void maskIsLumaBinarised() {
        byte[] px = {(byte) 255, 0, 0, 0, (byte) 255, 0, 0, 0, (byte) 255, (byte) 128, (byte) 128, (byte) 128};
        Image rgb = new Image(2, 2, 3, px);
        assertEquals(76, VaeImageProcessor.grey(rgb).get(0, 0, 0)); // 0.299 * 255
        assertEquals(150, VaeImageProcessor.grey(rgb).get(1, 0, 0)); // 0.587 * 255
        assertEquals(29, VaeImageProcessor.grey(rgb).get(0, 1, 0));
        assertEquals(128, VaeImageProcessor.grey(rgb).get(1, 1, 0));
        Latents m = new VaeImageProcessor(1).preprocessMask(rgb, 0, 0);
        assertArrayEquals(new float[] {0, 1, 0, 1}, m.data());
    }

    @Test
    void postprocessClampsAsDiffusers() {
        float[] out = VaeImageProcessor.denormalize(new float[] {-3f, -1f, 0f, 0.5f, 1f, 2f});
        assertArrayEquals(new float[] {0f, 0f, 0.5f, 0.75f, 1f, 1f}, out);
    }
}
