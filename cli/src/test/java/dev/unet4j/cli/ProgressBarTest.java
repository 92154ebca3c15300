package dev.unet4j.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ProgressBarTest {
    @Test
    void progressBarRendersStepsRateAndEta() {
        assertEquals("gen [##############..............] 5/10 steps  2.5 it/s  ETA 2.0s ", ProgressBar.render(5, 10, 2.0, "gen"));
        assertEquals("[############################] 10/10 steps  5.0 it/s  2.0s ", ProgressBar.render(10, 10, 2.0, null));
    }
}
