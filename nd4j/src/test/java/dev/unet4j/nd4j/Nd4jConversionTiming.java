package dev.unet4j.nd4j;

import dev.unet4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Not a test: times each conversion of a {@code [4, 4, 64, 64]} float32 array (256 KiB), median of many runs.
 * {@code java -cp <test classpath> dev.unet4j.nd4j.Nd4jConversionTiming [shape...]}; see nd4j/README.md.
 */
public final class Nd4jConversionTiming {
    private Nd4jConversionTiming() {
    }

    public static void main(String[] args) {
        long[] shape = args.length > 0 ? Arrays.stream(args).mapToLong(Long::parseLong).toArray() : new long[]{4, 4, 64, 64};
        INDArray array = Nd4j.rand(DataType.FLOAT, shape);
        INDArray fOrder = array.dup('f');
        INDArray doubles = array.castTo(DataType.DOUBLE);
        System.out.printf("shape %s, %d KiB as float32; median of 2000 after 500 warm-up%n", Arrays.toString(shape), array.length() * 4 / 1024);
        try (Tensor t = Tensor.allocate(shape)) {
            t.setFrom(array.data().asFloat());
            row("INDArray -> Tensor, float32 c order (view)", () -> Nd4jTensors.toTensor(array), Tensor::close);
            row("INDArray -> Tensor, float32 f order (view)", () -> Nd4jTensors.toTensor(fOrder), Tensor::close);
            row("INDArray -> Tensor, float64 (copy + cast)", () -> Nd4jTensors.toTensor(doubles), Tensor::close);
            row("INDArray -> existing Tensor, c order (copy)", () -> {
                Nd4jTensors.copy(array, t);
                return t;
            }, x -> { });
            row("INDArray -> existing Tensor, f order (copy)", () -> {
                Nd4jTensors.copy(fOrder, t);
                return t;
            }, x -> { });
            row("Tensor -> INDArray (view)", () -> Nd4jTensors.asINDArray(t), x -> { });
            row("Tensor -> INDArray (copy)", () -> Nd4jTensors.copyToINDArray(t), INDArray::close);
        }
    }

    private static <T> void row(String what, Supplier<T> convert, java.util.function.Consumer<T> dispose) {
        long[] ns = new long[2000];
        for (int i = -500; i < ns.length; i++) {
            long t0 = System.nanoTime();
            T x = convert.get();
            long dt = System.nanoTime() - t0;
            dispose.accept(x);
            if (i >= 0) ns[i] = dt;
        }
        Arrays.sort(ns);
        System.out.printf("%-46s %9.1f us%n", what, ns[ns.length / 2] / 1e3);
    }
}
