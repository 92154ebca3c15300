package dev.unet4j.zoo.mkunet;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.nn.Act;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.ZConv;

import java.util.ArrayList;
import java.util.List;

/**
 * MK-UNet's multi-kernel inverted residual block (stride 1, {@code dw_parallel}, {@code add}): {@code pconv1}
 * (1x1 -> BN -> ReLU6 to {@code in * expansion_factor} channels), {@code multi_scale_dwconv.dwconvs.k} (depth-wise
 * k x k -> BN -> ReLU6, every branch on the same input) summed, a channel shuffle with {@code gcd(expanded, out)}
 * groups, {@code pconv2} (1x1 -> BN), plus the input (through {@code conv1x1} when the channel counts differ). The
 * shuffle is folded into {@code pconv2}'s weights (a 1x1 conv of permuted channels is the conv with permuted weight
 * columns) and the residual sum into its convolution, so neither is a pass over the maps.
 */
final class MultiKernelInvertedResidualBlock {
    private final String path;
    private final ConvBn pconv1, pconv2;
    private final List<ConvBn> dwconvs = new ArrayList<>();
    private final ZConv conv1x1; // null when in == out

    MultiKernelInvertedResidualBlock(Build b, VarBuilder vb, int in, int out, double expansion, int[] kernelSizes) {
        this.path = vb.path();
        int ex = (int) (in * expansion);
        pconv1 = new ConvBn(b, vb.pp("pconv1"), ConvBn.spec(in, ex, 1, 1), false, Act.RELU6);
        VarBuilder dw = vb.pp("multi_scale_dwconv").pp("dwconvs");
        for (int k = 0; k < kernelSizes.length; k++) dwconvs.add(new ConvBn(b, dw.pp(k), ConvBn.spec(ex, ex, kernelSizes[k], ex), false, Act.RELU6));
        pconv2 = new ConvBn(b, vb.pp("pconv2"), ConvBn.spec(ex, out, 1, 1), false, null, channelShuffleSources(ex, gcd(ex, out)));
        conv1x1 = in != out ? ZConv.at(b, vb.pp("conv1x1"), ConvBn.spec(in, out, 1, 1), false) : null;
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    /**
     * torch's {@code channel_shuffle}: {@code view(B, g, C/g, H, W).transpose(1, 2)} flattened back, so shuffled channel
     * {@code i * g + j} is channel {@code j * (C/g) + i} of its input; entry {@code c} of the result is that source.
     */
    static int[] channelShuffleSources(int channels, int groups) {
        int cg = channels / groups;
        int[] src = new int[channels];
        for (int i = 0; i < cg; i++) {
            for (int j = 0; j < groups; j++) src[i * groups + j] = j * cg + i;
        }
        return src;
    }

    Tensor forward(Pass p, Tensor x) {
        Tensor dout = null;
        try (Tensor p1 = pconv1.forward(p, x)) {
            for (int k = 0; k < dwconvs.size(); k++) {
                Tensor d = dwconvs.get(k).forward(p, p1);
                p.captureIfRequested(path + ".multi_scale_dwconv." + k, d); // the module returns the list of branches
                if (dout == null) {
                    dout = d;
                } else {
                    Tensor sum = p.k.add(p.ws, dout, d, 1f, 1f);
                    dout.close();
                    d.close();
                    dout = sum;
                }
            }
        }
        try (Tensor branches = dout) {
            if (conv1x1 == null) return pconv2.forwardPlus(p, branches, x); // pconv2(shuffle(branches)) + x
            try (Tensor skip = conv1x1.forward(p, x)) {
                p.captureIfRequested(path + ".conv1x1", skip);
                return pconv2.forwardPlus(p, branches, skip);
            }
        }
    }
}
