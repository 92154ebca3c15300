package dev.unet4j.cli;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code inspect}'s MACs table names each node once: the demo's attention blocks are a layer and, under the same
 * path, an attention unit, and {@code down_blocks.1.attentions.0} used to be printed twice.
 */
class InspectNodePathsTest {
    @Test
    void everyNodePathIsListedOnceDownToUnits() {
        String out = Cli.run("inspect", "--level", "unit").assertOk().out();
        String table = out.substring(out.indexOf("MACs per node"));
        List<String> paths = new ArrayList<>();
        for (String line : table.split("\n")) {
            if (!line.startsWith("  ") || line.strip().startsWith("total")) continue;
            paths.add(line.strip().split("\\s+")[0]);
        }
        Set<String> seen = new HashSet<>();
        for (String p : paths) assertTrue(seen.add(p), "listed twice: " + p + " in\n" + table);
        assertEquals(1, paths.stream().filter(p -> p.equals("down_blocks.1.attentions.0")).count(), table);
        assertTrue(paths.contains("conv_in") && paths.contains("mid_block.attentions.0"), table);
    }
}
