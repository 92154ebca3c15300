package dev.unet4j.core.kernels.dnnl;

/**
 * Run by {@link OpenMpDefaultsTest} in a child JVM: makes kernels (which loads oneDNN and libgomp), then prints what
 * {@link OpenMpDefaults} did and the C environment's {@code GOMP_SPINCOUNT}. libgomp itself reports the spin count it
 * read when the child runs with {@code OMP_DISPLAY_ENV=VERBOSE}.
 */
public final class OpenMpDefaultsProbe {
    private OpenMpDefaultsProbe() {
    }

    public static void main(String[] args) throws Throwable {
        try (DnnlKernels k = new DnnlKernels(DnnlKernels.Options.exact())) {
            System.out.println("status=" + OpenMpDefaults.status());
            System.out.println("native=" + OpenMpDefaults.nativeValue(OpenMpDefaults.VARIABLE));
        }
    }
}
