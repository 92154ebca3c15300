package dev.unet4j.e2e.reliability;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;

/** Child JVM of {@link ApiMisuseCrashTest}: constructs {@link DnnlKernels}, runs one matmul, prints the outcome. */
public final class NewKernelsMain {
    public static void main(String[] args) {
        try (DnnlKernels k = new DnnlKernels()) {
            Models.digitsPipeline("ddim").generate(Models.digitsGeneration(1, 0, 1));
            System.out.println("constructed");
        } catch (IllegalStateException e) {
            System.out.println("refused: " + e.getMessage());
        }
        System.exit(0);
    }
}
