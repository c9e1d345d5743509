# io: a helper that prints what qlinear's GGUF reader sees, and the check of it against an
# independent reader (the npm package @huggingface/gguf; skipped, saying why, without node/npm).
add_executable(io_gguf_dump ${CMAKE_CURRENT_LIST_DIR}/gguf_dump.cpp)
target_link_libraries(io_gguf_dump PRIVATE qlinear::qlinear qlinear_test_flags)
if(NOT CMAKE_CROSSCOMPILING)
  add_test(NAME io.gguf_independent_reader
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/gguf_independent_check.sh $<TARGET_FILE:io_gguf_dump>
            ${CMAKE_CURRENT_BINARY_DIR}/io_npm ${QLINEAR_SHARED_DIR}/gguf-samples)
  set_tests_properties(io.gguf_independent_reader PROPERTIES LABELS io SKIP_RETURN_CODE 77 TIMEOUT 600)
endif()
