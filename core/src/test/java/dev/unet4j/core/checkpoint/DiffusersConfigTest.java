package dev.unet4j.core.checkpoint;

import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DiffusersConfigTest {

    @Test
    void readsTheSdTinyFixtureConfig() throws IOException {
        DiffusersConfig c = DiffusersConfig.load(Fixtures.fixture("unet2d-cond-sd-tiny/config.json"));
        assertEquals("UNet2DConditionModel", c.className());
        assertEquals("0.31.0", c.diffusersVersion());
        assertEquals(List.of(32, 64, 64), c.getIntList("block_out_channels", List.of(320, 640, 1280, 1280)));
        assertEquals(List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"), c.getStringList("down_block_types", List.of()));
        assertEquals(List.of(4), c.getIntList("attention_head_dim", List.of(8))); // a single int, broadcast per block
        assertEquals(1e-5, c.getDouble("norm_eps", 1e-6));
        assertEquals(1.0, c.getDouble("mid_block_scale_factor", 2.0)); // JSON int accepted as a number
        assertEquals(48, c.getInt("cross_attention_dim", 1280));
        assertTrue(c.getBoolean("flip_sin_to_cos", false));
        assertEquals(List.of(false), c.getBooleanList("only_cross_attention", List.of(true)));
        assertNull(c.getIntOrNull("num_attention_heads", 8)); // present as null: None, not the default
        assertTrue(c.isNull("num_attention_heads"));
        assertEquals("positional", c.getString("time_embedding_type", "fourier"));
        // missing keys take the caller's (diffusers') default
        assertFalse(c.has("not_in_this_version"));
        assertEquals(7, c.getInt("not_in_this_version", 7));
        assertEquals(Integer.valueOf(3), c.getIntOrNull("also_missing", 3));
        assertNull(c.getIntOrNull("also_missing", null));
        assertEquals(List.of(1, 2), c.getIntList("missing_list", List.of(1, 2)));
    }

    @Test
    void tracksWhichKeysWereRead() throws IOException {
        DiffusersConfig c = DiffusersConfig.parse("{\"_class_name\":\"X\",\"a\":1,\"b\":[1,2],\"c\":null,\"d\":\"s\"}", "mem.json");
        assertEquals(Set.of("a", "b", "c", "d"), c.unreadKeys());
        c.getInt("a", 0);
        c.getIntListOrNull("c", null);
        c.getInt("never_present", 5);
        assertEquals(Set.of("b", "d"), c.unreadKeys());
        c.ignore("b");
        c.getString("d", "");
        assertTrue(c.unreadKeys().isEmpty());
        c.logUnreadKeys(org.slf4j.LoggerFactory.getLogger(DiffusersConfigTest.class)); // nothing to log, must not throw
        assertEquals(List.of("_class_name", "a", "b", "c", "d"), List.copyOf(c.keys()));
    }

    @Test
    void wrongTypesNameTheFileKeyAndExpectation() throws IOException {
        DiffusersConfig c = DiffusersConfig.parse("{\"s\":\"4\",\"f\":1.5,\"big\":3000000000,\"n\":null,"
                + "\"mixed\":[1,\"x\"],\"obj\":{\"a\":1},\"b\":1,\"withnull\":[1,null]}", "cfg/config.json");
        assertMessage(assertThrows(ConfigException.class, () -> c.getInt("s", 0)), "cfg/config.json", "'s'", "a string", "expected an integer");
        assertMessage(assertThrows(ConfigException.class, () -> c.getInt("f", 0)), "'f'", "floating-point", "expected an integer");
        assertMessage(assertThrows(ConfigException.class, () -> c.getInt("big", 0)), "'big'", "out of int range");
        assertEquals(3_000_000_000L, c.getLong("big", 0));
        assertMessage(assertThrows(ConfigException.class, () -> c.getInt("n", 0)), "'n'", "is null", "OrNull");
        assertMessage(assertThrows(ConfigException.class, () -> c.getDouble("s", 0)), "'s'", "expected a number");
        assertMessage(assertThrows(ConfigException.class, () -> c.getBoolean("b", false)), "'b'", "an integer", "true or false");
        assertMessage(assertThrows(ConfigException.class, () -> c.getString("f", "")), "'f'", "expected a string");
        assertMessage(assertThrows(ConfigException.class, () -> c.getIntList("mixed", List.of())), "'mixed'", "a string", "list of integers");
        assertMessage(assertThrows(ConfigException.class, () -> c.getIntList("obj", List.of())), "'obj'", "an object");
        assertMessage(assertThrows(ConfigException.class, () -> c.getIntList("withnull", List.of())), "'withnull'", "without nulls");
        assertMessage(assertThrows(ConfigException.class, () -> c.getStringList("mixed", List.of())), "'mixed'", "list of strings");
        assertNull(c.getIntListOrNull("n", List.of(1)));
    }

    @Test
    void malformedConfigsAreModelExceptions() {
        assertMessage(assertThrows(ModelException.class, () -> DiffusersConfig.parse("{\"a\":", "x/config.json")), "x/config.json", "not valid JSON");
        assertMessage(assertThrows(ModelException.class, () -> DiffusersConfig.parse("[1]", "x/config.json")), "not a JSON object");
        assertMessage(assertThrows(ModelException.class, () -> DiffusersConfig.parse("{\"a\":1,\"a\":2}", "x/config.json")), "Duplicate", "'a'");
        assertMessage(assertThrows(ModelException.class, () -> DiffusersConfig.load(java.nio.file.Path.of("/nonexistent/config.json"))),
                "/nonexistent/config.json", "does not exist");
    }

    @Test
    void schedulerConfigOfTheDemoModel() throws IOException {
        DiffusersConfig s = DiffusersConfig.load(Fixtures.model("digits-16/scheduler_config.json"));
        assertEquals("DDIMScheduler", s.className());
        assertEquals(1000, s.getInt("num_train_timesteps", 0));
        assertEquals(1e-4, s.getDouble("beta_start", 0));
        assertEquals(0.02, s.getDouble("beta_end", 0));
        assertEquals("linear", s.getString("beta_schedule", ""));
        assertNull(s.getDoubleOrNull("trained_betas", null));
        assertTrue(s.getBoolean("set_alpha_to_one", false));
    }

    static void assertMessage(Exception e, String... fragments) {
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' missing in: " + e.getMessage());
    }
}
