"""The LLM judge: score poems 1-5 with the seed's aesthetic rubric, crash-safely, and measure agreement.

    judge = OpenAIJudge(OpenAIConfig.from_env(concurrency=32))        # or TransformersJudge("org/model")
    with JudgeStore(out / "judge_store") as store:
        run = score_poems(poems, judge, store, PromptTemplate.default())
"""

from curation.judge.openai_backend import JudgeEndpointError, OpenAIConfig, OpenAIJudge
from curation.judge.parse import ParsedReply, parse_reply
from curation.judge.prompt import PromptTemplate, TemplateError
from curation.judge.result import FAILED, SCORED, Judge, Judgement, JudgeRequest, judge_key
from curation.judge.runner import OUTPUT_COLUMNS, ScoreRun, score_poems
from curation.judge.store import JudgeStore

__all__ = ["FAILED", "OUTPUT_COLUMNS", "SCORED", "Judge", "JudgeEndpointError", "JudgeRequest", "JudgeStore",
           "Judgement", "OpenAIConfig", "OpenAIJudge", "ParsedReply", "PromptTemplate", "ScoreRun",
           "TemplateError", "judge_key", "parse_reply", "score_poems"]
