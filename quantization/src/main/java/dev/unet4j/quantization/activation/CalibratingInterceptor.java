package dev.unet4j.quantization.activation;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.SkipEvent;

/**
 * Tells recording layers where an up block's resnet input splits into the decoder's hidden state and the popped
 * skip: an up block pops a skip, concatenates it after the hidden state and runs the resnet on the result, so at that
 * resnet the split is {@code input channels - skip channels}. The resnet's {@code conv1} (after norm and SiLU, same
 * channels) and {@code conv_shortcut} then record the two halves as separate {@link ActivationSite}s.
 */
public final class CalibratingInterceptor implements NodeInterceptor {
    private final CalibrationContext context;
    private long pendingSkipChannels = -1;

    public CalibratingInterceptor(CalibrationContext context) {
        this.context = context;
    }

    @Override
    public Tensor onSkipPop(SkipEvent event) {
        pendingSkipChannels = event.tensor().dim(1);
        return event.tensor();
    }

    @Override
    public Tensor intercept(NodeCall call) {
        if (call.kind() == NodeKind.RESNET && pendingSkipChannels >= 0) {
            long hidden = call.input().dim(1) - pendingSkipChannels;
            if (hidden <= 0) throw new IllegalStateException(call.path() + ": input of " + call.input().dim(1) + " channels cannot hold a skip of " + pendingSkipChannels);
            context.setConcatSplit(call.path(), (int) hidden);
            pendingSkipChannels = -1;
        }
        return call.proceed();
    }
}
