# The REPL's tests beyond the Catch2 programs (included from tests/CMakeLists.txt):
#   repl_script.NAME.interp / .jit  nnjit-repl in batch mode on tests/repl/NAME.nnj, output
#                                   compared with hand-written NAME.out / NAME.err; the .jit
#                                   variants run the default engine and are reported skipped
#                                   while the JIT is not built
#   repl_terminal                   the interactive mode in tmux (skipped without tmux)
#   test_repl_batch                 (Catch2) gets the REPL's path to drive it with .npy files
if(TARGET test_repl_batch)
  add_dependencies(test_repl_batch nnjit-repl)
  target_compile_definitions(test_repl_batch PRIVATE NNJIT_REPL_PATH="$<TARGET_FILE:nnjit-repl>")
endif()

file(GLOB NNJIT_REPL_SCRIPTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/repl/*.nnj)
foreach(script ${NNJIT_REPL_SCRIPTS})
  get_filename_component(name ${script} NAME_WE)
  foreach(backend interp jit)
    add_test(NAME repl_script.${name}.${backend}
             COMMAND ${CMAKE_COMMAND} -DREPL=$<TARGET_FILE:nnjit-repl> -DSCRIPT=${script} -DBACKEND=${backend}
                     -DWORK=${CMAKE_CURRENT_BINARY_DIR}/repl_work -P ${CMAKE_CURRENT_SOURCE_DIR}/repl/run_script.cmake)
    set_tests_properties(repl_script.${name}.${backend} PROPERTIES LABELS "repl"
                         SKIP_REGULAR_EXPRESSION "SKIPPED: the JIT backend is not built yet")
  endforeach()
endforeach()

add_test(NAME repl_terminal COMMAND ${PROJECT_SOURCE_DIR}/tools/repl_tmux_check.sh $<TARGET_FILE:nnjit-repl>)
set_tests_properties(repl_terminal PROPERTIES LABELS "repl" SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
