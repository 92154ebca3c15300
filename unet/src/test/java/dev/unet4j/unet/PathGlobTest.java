package dev.unet4j.unet;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The glob rule of {@link PathGlob}, as a table of pattern, path and expected match (see docs/quantization.md). */
class PathGlobTest {
    @ParameterizedTest(name = "{0} ~ {1}: {2}")
    @CsvSource({
            // * is one segment, or a non-empty part of one
            "down_blocks.*.resnets.*,       down_blocks.0.resnets.1,                      true",
            "down_blocks.*.resnets.*,       down_blocks.0.resnets.1.conv1,                false",
            "down_blocks.*,                 down_blocks.,                                 false",
            "*.attn*,                       mid_block.attn1,                              true",
            "*.attn*,                       mid_block.attn,                               false",
            "*,                             conv_in,                                      true",
            "*,                             mid_block.resnets,                            false",
            // ** is any run of characters, dots included
            "**.conv_shortcut,              down_blocks.1.resnets.0.conv_shortcut,        true",
            "**.conv_shortcut,              conv_shortcut,                                false",
            "*.conv_shortcut,               down_blocks.1.resnets.0.conv_shortcut,        false",
            "**.attentions.*,               up_blocks.1.attentions.2,                     true",
            "**.attentions.*,               up_blocks.1.attentions.2.proj_in,             false",
            "**.attentions.**,              up_blocks.1.attentions.2.proj_in,             true",
            "**norm**,                      down_blocks.0.resnets.0.norm1,                true",
            "**norm**,                      mid_block.attentions.0.transformer_blocks.0.norm3, true",
            "**norm**,                      conv_out,                                     false",
            "time_embedding.**,             time_embedding.linear_1,                      true",
            "time_embedding.**,             time_embedding,                               false",
            // ? is one character other than a dot
            "a?c**,                         abc.d.e,                                      true",
            "a?c,                           a.c,                                          false",
            // everything else is literal, the whole path must match
            "conv_in,                       conv_in,                                      true",
            "conv_in,                       conv_in.weight,                               false",
            "mid_block,                     xmid_block,                                   false",
            "a+b,                           a+b,                                          true",
    })
    void matchesByTheRule(String pattern, String path, boolean expected) {
        assertEquals(expected, PathGlob.of(pattern).matches(path));
    }

    @Test
    void severalPatternsAreOred() {
        PathGlob g = PathGlob.of(List.of("mid_block", "up_blocks.0"));
        assertEquals(true, g.matches("mid_block"));
        assertEquals(true, g.matches("up_blocks.0"));
        assertEquals(false, g.matches("up_blocks.1"));
        assertEquals("mid_block|up_blocks.0", g.toString());
    }

    @Test
    void emptyPatternsAreRefused() {
        assertEquals("no path pattern given", assertThrows(IllegalArgumentException.class, () -> PathGlob.of(List.of())).getMessage());
        assertThrows(IllegalArgumentException.class, () -> PathGlob.of(""));
    }
}
