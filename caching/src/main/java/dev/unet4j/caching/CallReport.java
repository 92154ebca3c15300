package dev.unet4j.caching;

import java.util.List;

/**
 * What one UNet call of a generation did.
 *
 * @param callIndex     the call within the generation
 * @param mode          what the policies did ("full", "reuse b=0", "decode", ...)
 * @param computed      node paths computed (not replaced) on this call, in visiting order, from the CallTrace(s)
 * @param macsDone      multiply-accumulates computed
 * @param fullMacs      MACs a full call of this batch would cost
 * @param bytesHeld     bytes held by the caches after the call
 * @param nanos         wall-clock time of the call
 */
public record CallReport(int callIndex, String mode, List<String> computed, long macsDone, long fullMacs, long bytesHeld,
                         long nanos) {
    public CallReport {
        computed = List.copyOf(computed);
    }

    public boolean ran(String path) {
        return computed.contains(path);
    }
}
