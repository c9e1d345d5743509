# The tool run on the shared GGUF samples and the committed safetensors seeds, success and failure.
set(samples ${QLINEAR_SHARED_DIR}/gguf-samples)
set(seeds ${PROJECT_SOURCE_DIR}/fuzz/seeds/fuzz_safetensors)
set(work ${CMAKE_CURRENT_BINARY_DIR}/tool_tests)
file(MAKE_DIRECTORY ${work})
set(tool $<TARGET_FILE:qlinear_tool>)
set(expect bash ${CMAKE_CURRENT_SOURCE_DIR}/expect.sh)
function(tool_test name status regex)
  add_test(NAME tool.${name} COMMAND ${expect} ${status} ${regex} ${ARGN})
  set_tests_properties(tool.${name} PROPERTIES LABELS tool)
endfunction()

tool_test(inspect_gguf 0 "blk\\.0\\.attn_k\\.weight +Q4_K +\\[5120, 64\\] +4\\.5000 +184320 +95168"
  ${tool} inspect ${samples}/devstral-slice-q4k-q6k.gguf)
tool_test(inspect_gguf_v1 0 "GGUF v1, 18 metadata entries, 48 tensors"
  ${tool} inspect ${samples}/tinyllamas-stories-260k-f32.gguf)
tool_test(inspect_vocab 0 "tokenizer\\.ggml\\.merges +array +\\[50000 x string\\]|tokenizer\\.ggml\\.merges +array +\\[[0-9]+ x string\\]"
  ${tool} inspect ${samples}/ggml-vocab-gpt-2.gguf)
tool_test(inspect_safetensors 0 "model\\.layers\\.0\\.k_proj\\.weight +BF16 +\\[32, 64\\]"
  ${tool} inspect ${seeds}/model.safetensors)
# Bit for bit: the raw f32 dump equals gguf-py's dequantization; the .npy holds the same bytes.
add_test(NAME tool.dequant_raw_matches_truth COMMAND bash -c
  "'${tool}' dequant '${samples}/devstral-slice-q4k-q6k.gguf' blk.0.attn_v.weight -o '${work}/v.f32' && cmp '${work}/v.f32' '${samples}/devstral-slice-q4k-q6k.truth.blk.0.attn_v.weight.f32'")
add_test(NAME tool.dequant_npy COMMAND bash -c
  "'${tool}' dequant '${samples}/devstral-slice-q4k-q6k.gguf' blk.0.attn_k.weight -o '${work}/k.npy' && head -c 128 '${work}/k.npy' | grep -aq \"'shape': (64, 5120)\" && tail -c 1310720 '${work}/k.npy' | cmp - '${samples}/devstral-slice-q4k-q6k.truth.blk.0.attn_k.weight.f32'")
add_test(NAME tool.quantize_gguf COMMAND bash -c
  "'${tool}' quantize '${samples}/tinyllamas-stories-260k-q8_0.gguf' -o '${work}/q.gguf' --type q8_0 --type-for 'attn_(q|k)=q4_0' --type-for output=q6_K > '${work}/q.txt' 2>&1; s=$?; cat '${work}/q.txt'; [ $s -eq 0 ] && grep -Eq 'blk\\.0\\.attn_q\\.weight +Q8_0 +Q4_0' '${work}/q.txt' && grep -Eq 'blk\\.0\\.ffn_down\\.weight +Q8_0 +Q8_0 +kept: rows of 172' '${work}/q.txt' && '${tool}' inspect '${work}/q.gguf' | grep -Eq 'blk\\.0\\.attn_k\\.weight +Q4_0 ' && '${tool}' inspect '${work}/q.gguf' | grep -Eq 'tokenizer\\.ggml\\.tokens +array +\\[512 x string\\]'")
add_test(NAME tool.quantize_safetensors COMMAND bash -c
  "'${tool}' quantize '${seeds}/model.safetensors' -o '${work}/m.gguf' --type q4_0 > '${work}/m.txt' 2>&1; s=$?; cat '${work}/m.txt'; [ $s -eq 0 ] && '${tool}' inspect '${work}/m.gguf' | grep -Eq 'model\\.layers\\.0\\.q_proj\\.weight +Q4_0 +\\[64, 64\\]' && '${tool}' inspect '${work}/m.gguf' | grep -Eq 'model\\.ids +I64'")
tool_test(bench_gguf 0 "backend: cpu::" ${tool} bench ${samples}/devstral-slice-q4k-q6k.gguf blk.0.attn_k.weight --m 1,3 --reps 2)
tool_test(bench_safetensors 0 "int4_g32, 64 x 64" ${tool} bench ${seeds}/quantized.safetensors int4 --m 2 --reps 2)
# Failures: one clear line, non-zero status.
tool_test(missing_file fail "qlinear: error: .*no-such\\.gguf: cannot open" ${tool} inspect ${work}/no-such.gguf)
tool_test(unknown_tensor fail "no tensor named 'blk\\.9\\.attn_q\\.weight'"
  ${tool} dequant ${samples}/devstral-slice-q4k-q6k.gguf blk.9.attn_q.weight -o ${work}/x.f32)
tool_test(unsupported_type fail "unsupported type 'q9_K'"
  ${tool} quantize ${samples}/tinyllamas-stories-260k-q8_0.gguf -o ${work}/x.gguf --type q9_K)
tool_test(corrupt_file fail "tensor 'blk\\.0\\.attn_v\\.weight' offset: 2193152 .*\\(byte 74652\\)"
  ${tool} inspect ${samples}/negative/devstral-slice-q4k-q6k.corrupt-offset.gguf)
tool_test(not_gguf fail "qlinear: error: .*not a GGUF file: magic is 'FUGG'"
  ${tool} inspect ${samples}/negative/example-prerelease-FUGG.gguf)
add_test(NAME tool.truncated_file COMMAND bash -c
  "head -c 50000 '${samples}/devstral-slice-q4k-q6k.gguf' > '${work}/cut.gguf' && ${expect} fail 'qlinear: error: .*(runs past the end|cannot fit)' '${tool}' inspect '${work}/cut.gguf'")
tool_test(bench_not_a_layer fail "has 1 dims" ${tool} bench ${samples}/devstral-slice-q4k-q6k.gguf blk.0.attn_norm.weight)
tool_test(usage fail "unknown command 'frobnicate'" ${tool} frobnicate)
