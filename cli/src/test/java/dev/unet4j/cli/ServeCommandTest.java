package dev.unet4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code unet4j serve}: its images are the {@code unet4j generate} PNG files byte for byte. */
class ServeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    Path tmp;

    private JsonNode post(Served s, String path, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(s.uri.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    private byte[] generate(String name, Object... args) throws Exception {
        Object[] quiet = new Object[args.length + 1];
        quiet[0] = "--quiet";
        System.arraycopy(args, 0, quiet, 1, args.length);
        return Cli.generate(tmp.resolve(name), quiet);
    }

    @Test
    void servesTheBundledDemoOnLoopbackWithTheCliImages() throws Exception {
        try (Served s = new Served()) {
            assertEquals("127.0.0.1", s.uri.getHost());
            assertTrue(s.out().contains("models: demo-digits"), s.out());
            JsonNode a1111 = post(s, "/sdapi/v1/txt2img", "{\"prompt\":\"a handwritten seven\",\"seed\":42,\"steps\":10}");
            assertArrayEquals(generate("seven.png", "--class-label", 7, "--seed", 42, "--steps", 10),
                    Base64.getDecoder().decode(a1111.get("images").get(0).asText()));
            JsonNode openAi = post(s, "/v1/images/generations", "{\"prompt\":\"2\",\"seed\":3,\"steps\":6,\"sampler\":\"euler-ancestral\"}");
            assertArrayEquals(generate("two.png", "--class-label", 2, "--seed", 3, "--steps", 6, "--scheduler", "euler-ancestral"),
                    Base64.getDecoder().decode(openAi.get("data").get(0).get("b64_json").asText()));
            JsonNode guided = post(s, "/sdapi/v1/txt2img", "{\"prompt\":\"0\",\"seed\":8,\"steps\":5,\"cfg_scale\":2.5,\"sampler_name\":\"DPM++ 2M Karras\"}");
            assertArrayEquals(generate("zero.png", "--class-label", 0, "--seed", 8, "--steps", 5, "--guidance", 2.5, "--scheduler", "dpmpp-2m-karras"),
                    Base64.getDecoder().decode(guided.get("images").get(0).asText()));
        }
    }

    @Test
    void servesTheBundledTextDemoWithTheCliImages() throws Exception {
        try (Served s = new Served()) {
            assertTrue(s.out().contains("models: demo-digits, demo-text"), s.out());
            JsonNode r = post(s, "/sdapi/v1/txt2img", "{\"model\":\"demo-text\",\"prompt\":\"a handwritten seven\",\"negative_prompt\":\"a bold 1\",\"seed\":42,\"steps\":10}");
            assertArrayEquals(generate("text-seven.png", "--prompt", "a handwritten seven", "--negative-prompt", "a bold 1", "--seed", 42, "--steps", 10),
                    Base64.getDecoder().decode(r.get("images").get(0).asText()));
        }
    }

    @Test
    void aNamedCopyOfTheDemoGetsTheDemoDefaults() throws Exception {
        Path copy = tmp.resolve("digits");
        Files.createDirectories(copy);
        for (String f : new String[] {"config.json", "diffusion_pytorch_model.safetensors", "scheduler_config.json"}) {
            Files.copy(DemoModel.folder().resolve(f), copy.resolve(f));
        }
        try (Served s = new Served("--model", "digits=" + copy, "--api-key", "k1")) {
            HttpResponse<String> noKey = http.send(HttpRequest.newBuilder(s.uri.resolve("/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(401, noKey.statusCode());
            HttpResponse<String> models = http.send(HttpRequest.newBuilder(s.uri.resolve("/v1/models")).header("Authorization", "Bearer k1").build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode m = JSON.readTree(models.body()).get("data").get(0);
            assertEquals("digits", m.get("id").asText());
            assertEquals(1.5, m.get("unet4j").get("guidance").asDouble());
        }
    }

    @Test
    void badModelsAreUserErrors() {
        Cli.run("serve", "--port", "0", "--model", "nope").assertError(1, "NAME=DIR");
        Cli.run("serve", "--port", "0", "--model", "x=" + tmp.resolve("missing")).assertError(1, "folder not found");
        Cli.run("serve", "--port", "0", "--model", "bad/name=" + tmp).assertError(1, "model name");
        Cli.run("serve", "--port", "70000").assertError(1, "--port");
        Cli.run("serve", "--port", "0", "--api-key-file", tmp.resolve("none.txt")).assertError(1, "--api-key-file");
    }
}
