package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ForwardingLayer;
import dev.unet4j.core.kernels.Layer;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.activation.CalibrationContext;
import dev.unet4j.unet.LayerFactory;

import java.util.OptionalInt;

/**
 * Wraps another factory's layers so that, in a session whose workspace attributes hold a {@link CalibrationContext},
 * every conv/linear layer records its input in the context's calibrator under its module path (split in two at a
 * concatenation the context knows of) before it runs. Without a context the wrappers only delegate.
 */
public final class CalibratingLayerFactory implements LayerFactory {
    private final LayerFactory delegate;

    public CalibratingLayerFactory(LayerFactory delegate) {
        this.delegate = delegate;
    }

    @Override
    public Conv2d conv2d(String path, Conv2dSpec spec, Tensor weight, Tensor bias) {
        Conv2d inner = delegate.conv2d(path, spec, weight, bias);
        return ForwardingLayer.conv2d(inner, recordingFirst(path, inner));
    }

    @Override
    public Linear linear(String path, Tensor weight, Tensor bias) {
        Linear inner = delegate.linear(path, weight, bias);
        return ForwardingLayer.linear(inner, recordingFirst(path, inner));
    }

    /** Records the input under {@code path}, then runs {@code inner}. */
    private static ForwardingLayer.Call recordingFirst(String path, Layer inner) {
        return (ws, x, residual, outputScale) -> {
            record(ws, path, x);
            return inner.forward(ws, x, residual, outputScale);
        };
    }

    private static void record(Workspace ws, String path, Tensor x) {
        CalibrationContext ctx = ws.attributes().get(CalibrationContext.class);
        if (ctx == null) return;
        OptionalInt split = x.rank() == 4 ? ctx.concatSplitFor(path) : OptionalInt.empty();
        if (split.isPresent() && split.getAsInt() < x.dim(1)) {
            int h = split.getAsInt();
            ctx.calibrator().observeConcat(path, ctx.timestep(), x.narrow(1, 0, h), x.narrow(1, h, x.dim(1) - h));
        } else {
            ctx.calibrator().observe(path, ctx.timestep(), x);
        }
    }
}
