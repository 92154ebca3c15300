package dev.unet4j.cli;

import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.config.SampleSize;
import dev.unet4j.unet.config.UNetConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The calibration inputs of {@code --quant mixed:}, on which the library's {@code QuantSpec.load} measures each
 * layer's model-output sensitivity: seeded random inputs of the config's shapes ({@link BenchInputs}) at three
 * timesteps spread over the schedule, batch 1.
 */
final class MixedCalibration implements AutoCloseable {
    static final long[] TIMESTEPS = {100, 500, 900};

    private final List<BenchInputs> owned;
    private final List<UNetInputs> inputs;

    private MixedCalibration(List<BenchInputs> owned, List<UNetInputs> inputs) {
        this.owned = owned;
        this.inputs = inputs;
    }

    static MixedCalibration of(UNetConfig config) {
        SampleSize sampleSize = config.sampleSize();
        if (sampleSize == null) throw new UserException("--quant mixed: needs the config's sample_size for its calibration inputs");
        List<BenchInputs> owned = new ArrayList<>();
        List<UNetInputs> inputs = new ArrayList<>();
        try {
            for (long t : TIMESTEPS) {
                BenchInputs in = BenchInputs.random(config, 1, sampleSize.height(), sampleSize.width(), t);
                owned.add(in);
                inputs.add(in.inputs().with(in.inputs().sample(), Timestep.int64(t)));
            }
        } catch (RuntimeException e) {
            owned.forEach(BenchInputs::close);
            throw e;
        }
        return new MixedCalibration(owned, List.copyOf(inputs));
    }

    List<UNetInputs> inputs() {
        return inputs;
    }

    @Override
    public void close() {
        owned.forEach(BenchInputs::close);
    }
}
