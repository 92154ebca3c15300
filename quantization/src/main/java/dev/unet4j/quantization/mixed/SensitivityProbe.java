package dev.unet4j.quantization.mixed;

/**
 * Measures how much the model's output changes on calibration data when only {@code layer} is quantized to
 * {@code bits} and every other layer is left as it is (e.g. the mean squared difference of the predicted noise
 * over a few calibration inputs spread over timesteps). A model-level implementation runs the UNet with a plan that
 * quantizes just that layer; {@link LinearOutputErrorProbe} is a layer-local stand-in.
 */
@FunctionalInterface
public interface SensitivityProbe {
    double outputError(String layer, int bits);
}
