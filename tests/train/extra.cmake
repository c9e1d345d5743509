# The QLoRA example learns: a short run (256-wide, 120 steps; a few seconds in Release) must cut
# its held-out loss at least 20-fold (it reaches 40-100x). Labelled slow: minutes under ASan.
if(QLINEAR_BUILD_EXAMPLES)
  add_test(NAME train.qlora_finetune
           COMMAND qlora_finetune --width 256 --out 256 --batch 64 --steps 120 --lr 0.02 --print-every 10
                   --check-factor 20)
  set_tests_properties(train.qlora_finetune PROPERTIES LABELS "train;slow" TIMEOUT 300)
endif()
