package dev.unet4j.spark;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The seed of a row without one: derived from the row's own request fields only (SHA-256 of prompt, negative prompt
 * and class label, first 8 bytes, sign bit cleared), so it does not depend on partitioning, order or executor.
 */
final class RowSeeds {
    private RowSeeds() {
    }

    static long derive(String prompt, String negativePrompt, Integer classLabel) {
        String key = "prompt=" + prompt + "\u0000negative=" + negativePrompt + "\u0000class=" + classLabel;
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            long v = 0;
            for (int i = 0; i < 8; i++) v = (v << 8) | (d[i] & 0xff);
            return v & Long.MAX_VALUE;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
