package dev.unet4j.zoo;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The accuracy measure of the quantized zoo models, on values worked out by hand. */
class MaskAgreementTest {
    @Test
    void relativeMaxDeltaAndDiceOfTheMasksAtLogitZero() {
        // masks ref > 0: {1, 0, 1, 0}, got > 0: {1, 1, 1, 0}: |A| 2, |B| 3, |A ∩ B| 2 -> Dice 4/5; max|d| 2 of max|ref| 3
        MaskAgreement m = MaskAgreement.of(new float[]{2f, -1f, 0.5f, -3f}, new float[]{1.5f, 1f, 0.5f, -3f});
        assertEquals(2.0 / 3.0, m.relativeMaxDelta(), 1e-12);
        assertEquals(0.8, m.dice(), 1e-12);
        assertEquals(1.0, MaskAgreement.of(new float[]{-1f, -2f}, new float[]{-1f, -2f}).dice(), "two empty masks agree");
    }
}
