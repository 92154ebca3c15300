package dev.unet4j.quantization.activation;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * What recording layers need during a calibration run, kept in the session's workspace attributes
 * ({@code ws.attributes().put(CalibrationContext.class, ctx)}): the {@link Calibrator}, the timestep of the current
 * UNet call (set it before each call), and where the channel concatenations split, by the module path of the
 * block whose input is {@code cat(hidden, skip)} (filled by {@link CalibratingInterceptor}). One per session.
 */
public final class CalibrationContext {
    private final Calibrator calibrator;
    private final Map<String, Integer> concatSplits = new HashMap<>();
    private int timestep;

    public CalibrationContext(Calibrator calibrator) {
        this.calibrator = calibrator;
    }

    public Calibrator calibrator() {
        return calibrator;
    }

    public int timestep() {
        return timestep;
    }

    /** The timestep the next UNet call runs at. */
    public void setTimestep(int timestep) {
        this.timestep = timestep;
    }

    /** Declares that the input of {@code block} (and of the layers inside it) is {@code cat(hidden, skip)} with {@code hiddenChannels} first. */
    public void setConcatSplit(String block, int hiddenChannels) {
        concatSplits.put(block, hiddenChannels);
    }

    /** The hidden-channel count of the concatenated input of the block containing the layer at {@code layerPath}. */
    public OptionalInt concatSplitFor(String layerPath) {
        int dot = layerPath.lastIndexOf('.');
        Integer split = dot < 0 ? null : concatSplits.get(layerPath.substring(0, dot));
        return split == null ? OptionalInt.empty() : OptionalInt.of(split);
    }
}
