# Builds TARGET in BUILD_DIR and succeeds only if that fails with EXPECT in the compiler's
# output: a snippet that fails for another reason (a typo, a missing include) is no proof.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it must fail with: ${EXPECT}")
endif()
string(FIND "${out}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${TARGET} failed, but without the expected message '${EXPECT}':\n${out}")
endif()
message(STATUS "${TARGET} failed to compile, as expected, with: ${EXPECT}")
