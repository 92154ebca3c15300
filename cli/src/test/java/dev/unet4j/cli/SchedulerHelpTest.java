package dev.unet4j.cli;

import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code generate --help} lists the sampler registry's names, each once, and every listed name parses. */
class SchedulerHelpTest {
    /** The {@code --scheduler} paragraph of the help: from the option to the next option. */
    private static String schedulerHelp() {
        String help = Cli.run("generate", "--help").out();
        Matcher m = Pattern.compile("(?s)\\n\\s+--scheduler=NAME\\s+(.*?)\\n\\s+(-\\w|--[a-z])").matcher(help);
        assertTrue(m.find(), help);
        String text = m.group(1).replaceAll("\\s+", " ").strip();
        assertTrue(text.contains(". Default:"), text);
        return text;
    }

    @Test
    void theHelpListsEveryRegisteredNameOnceInRegistryOrder() {
        String text = schedulerHelp();
        String listed = text.substring(0, text.indexOf(". Default:"));
        List<String> names = Arrays.stream(listed.split(",")).map(String::strip).toList();
        assertEquals(List.of("ddim", "euler", "euler-karras", "heun-karras", "euler-ancestral", "dpmpp-2m", "dpmpp-2m-karras",
                "edm-euler", "edm-heun", "pndm", "lms", "lms-karras"), names);
        for (String n : Samplers.NAMES) {
            Matcher word = Pattern.compile("(?<![\\w-])" + Pattern.quote(n) + "(?![\\w-])").matcher(listed);
            int count = 0;
            while (word.find()) count++;
            assertEquals(1, count, n + " in: " + listed);
        }
    }

    @Test
    void everyListedNameParsesAndOthersAreRefused() {
        String text = schedulerHelp();
        List<String> parsed = new ArrayList<>();
        for (String n : text.substring(0, text.indexOf(". Default:")).split(",")) {
            String name = n.strip();
            assertEquals(name, SamplerChoice.DEFAULTS.create(name, SchedulerConfig.defaults()).name());
            parsed.add(name);
        }
        assertEquals(Samplers.NAMES, parsed);
        // an A1111 alias is the server's, not a CLI name
        UserException e = org.junit.jupiter.api.Assertions.assertThrows(UserException.class,
                () -> SamplerChoice.DEFAULTS.create("plms", SchedulerConfig.defaults()));
        assertEquals("unknown scheduler 'plms'; valid: ddim, euler, euler-karras, heun-karras, euler-ancestral, dpmpp-2m, "
                + "dpmpp-2m-karras, edm-euler, edm-heun, pndm, lms, lms-karras", e.getMessage());
    }
}
