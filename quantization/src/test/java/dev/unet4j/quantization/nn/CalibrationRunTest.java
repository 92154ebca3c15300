package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.quantization.activation.ActivationRange;
import dev.unet4j.quantization.activation.ActivationScheme;
import dev.unet4j.quantization.activation.ActivationSite;
import dev.unet4j.quantization.activation.CalibratingInterceptor;
import dev.unet4j.quantization.activation.CalibrationContext;
import dev.unet4j.quantization.activation.Calibrator;
import dev.unet4j.quantization.activation.StaticActivationScales;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Static activation calibration over a real UNet: per layer, per timestep, concat halves split. */
class CalibrationRunTest {
    private final Kernels kernels = new ReferenceKernels();

    static ActivationRange rangeOf(float[] v) {
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (float x : v) {
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
        }
        return new ActivationRange(lo, hi, v.length);
    }

    @Test
    void recordsEveryLayerInputPerTimestepAndSplitsSkipConcatenations() throws Exception {
        Calibrator cal = new Calibrator(3);
        CalibrationContext ctx = new CalibrationContext(cal);
        int[] steps = {999, 500, 1};
        Random rnd = new Random(17);
        try (UNetModel model = UNetModel.load(Fixtures.model("digits-16"), LoadOptions.of(kernels).withLayerFactory(k -> new CalibratingLayerFactory(LayerFactory.of(k))));
             UNetSession s = model.newSession(); Tensor labels = Tensor.of(new float[]{4}, 1)) {
            s.workspace().attributes().put(CalibrationContext.class, ctx);
            s.setInterceptor(new CalibratingInterceptor(ctx));
            String lastSkip = "skip." + (model.skipCount() - 1);
            s.capture(lastSkip);
            for (int t : steps) {
                float[] sample = new float[16 * 16];
                for (int i = 0; i < sample.length; i++) sample[i] = (float) (rnd.nextGaussian() * (1 + t / 500.0));
                ctx.setTimestep(t);
                try (Tensor x = Tensor.of(sample, 1, 1, 16, 16); Tensor y = s.forward(UNetInputs.builder(x, Timestep.of(t)).classLabels(labels).build())) {
                    assertEquals(16 * 16, y.numel());
                    assertEquals(rangeOf(sample), cal.range(ActivationSite.input("conv_in"), t), "conv_in sees the sample at t=" + t);
                    // up_blocks.0.resnets.0 pops the last skip first; its shortcut sees cat(hidden, skip) unnormalised.
                    assertEquals(rangeOf(s.captured(lastSkip).toFloatArray()), cal.range(ActivationSite.concatSkip("up_blocks.0.resnets.0.conv_shortcut"), t));
                }
            }
        }
        assertEquals(3, cal.timesteps().size());
        for (String layer : new String[]{"up_blocks.0.resnets.0.conv1", "up_blocks.2.resnets.2.conv1"}) {
            ActivationRange hidden = cal.range(ActivationSite.concatHidden(layer)), skip = cal.range(ActivationSite.concatSkip(layer));
            assertTrue(hidden.count() > 0 && skip.count() > 0, layer);
            assertTrue(hidden.min() >= -0.2785f && skip.min() >= -0.2785f, "conv1 inputs are post-SiLU: " + hidden + " " + skip);
        }
        assertEquals(0, cal.range(ActivationSite.input("up_blocks.0.resnets.0.conv1")).count(), "concat inputs are only recorded split");
        assertTrue(cal.range(ActivationSite.input("down_blocks.0.resnets.0.time_emb_proj")).count() > 0);
        assertTrue(cal.range(ActivationSite.input("mid_block.attentions.0.to_q")).count() > 0);
        StaticActivationScales scales = cal.scales(ActivationScheme.ASYMMETRIC_U8);
        StaticActivationScales.Concat c = scales.concat("up_blocks.1.resnets.2.conv_shortcut");
        ActivationRange skipRange = cal.range(ActivationSite.concatSkip("up_blocks.1.resnets.2.conv_shortcut"));
        assertEquals(ActivationScheme.ASYMMETRIC_U8.params(skipRange.min(), skipRange.max()), c.skip());
    }
}
