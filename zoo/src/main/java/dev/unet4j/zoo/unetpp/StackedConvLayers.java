package dev.unet4j.zoo.unetpp;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.nn.Build;

import java.util.ArrayList;
import java.util.List;

/**
 * nnU-Net's {@code StackedConvLayers}: {@code blocks.0} maps {@code in -> out} with the stage's first stride, then
 * {@code num_convs - 1} blocks {@code out -> out}. As in the official code the first block always exists, so a stack
 * asked for 0 convolutions still has one.
 */
final class StackedConvLayers {
    private final List<ConvDropoutNormNonlin> blocks = new ArrayList<>();

    StackedConvLayers(Build b, VarBuilder vb, GenericUNetPlusPlus.Config c, int in, int out, int numConvs, int[] kernel, int[] firstStride) {
        int[] one = new int[kernel.length];
        java.util.Arrays.fill(one, 1);
        VarBuilder blocksVb = vb.pp("blocks");
        blocks.add(new ConvDropoutNormNonlin(b, blocksVb.pp(0), c, in, out, kernel, firstStride == null ? one : firstStride));
        for (int i = 1; i < numConvs; i++) blocks.add(new ConvDropoutNormNonlin(b, blocksVb.pp(i), c, out, out, kernel, one));
    }

    Tensor forward(Pass p, Tensor x) {
        Tensor h = blocks.get(0).forward(p, x);
        for (int i = 1; i < blocks.size(); i++) {
            Tensor next = blocks.get(i).forward(p, h);
            h.close();
            h = next;
        }
        return h;
    }
}
